// Solution of exercise 19.1: remember in the constructor, restore in the destructor.
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

class ScopedAutocast {
 public:
  ScopedAutocast(c10::DeviceType device, bool enabled, at::ScalarType dtype)
      : device_(device),
        was_enabled_(at::autocast::is_autocast_enabled(device)),
        old_dtype_(at::autocast::get_autocast_dtype(device)) {
    at::autocast::set_autocast_enabled(device, enabled);
    at::autocast::set_autocast_dtype(device, dtype);
    at::autocast::increment_nesting();
  }
  ~ScopedAutocast() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();  // outermost ends
    at::autocast::set_autocast_enabled(device_, was_enabled_);
    at::autocast::set_autocast_dtype(device_, old_dtype_);
  }
  ScopedAutocast(const ScopedAutocast&) = delete;  // one guard, one scope: no copies
  ScopedAutocast& operator=(const ScopedAutocast&) = delete;

 private:
  c10::DeviceType device_;
  bool was_enabled_;
  at::ScalarType old_dtype_;
};
