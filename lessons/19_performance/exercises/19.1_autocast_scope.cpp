// Exercise 19.1: an RAII guard that turns autocast on for one scope and restores what was there.
//
// LibTorch has no `with torch.autocast(...)`: lesson 19 writes a guard class whose constructor
// switches autocast and whose destructor undoes it, so the state comes back however the scope
// ends (normally, by return, or by an exception). Complete ScopedAutocast(device, enabled,
// dtype):
//   constructor  remember at::autocast::is_autocast_enabled(device) and
//                at::autocast::get_autocast_dtype(device); then set_autocast_enabled(device,
//                enabled), set_autocast_dtype(device, dtype), and at::autocast::increment_nesting()
//   destructor   if at::autocast::decrement_nesting() returns 0 (the outermost guard ends), call
//                at::autocast::clear_cache() (autocast's low-precision copies of the weights would
//                be stale after the optimizer's step); then set back the remembered two values
// Guards nest: an inner guard that turns autocast off hands the outer guard's state back.
// Python:  with torch.autocast("cpu", dtype=torch.bfloat16): ...
//
// Check it: ./course check 19.1     A hint: ./course hint 19.1
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

class ScopedAutocast {
 public:
  ScopedAutocast(c10::DeviceType device, bool enabled, at::ScalarType dtype) {
    // TODO: remember the state before switching (members of your own), and count the nesting.
    at::autocast::set_autocast_enabled(device, enabled);
    at::autocast::set_autocast_dtype(device, dtype);
  }
  ~ScopedAutocast() {
    // TODO: replace this line with your code (nothing is restored yet).
  }
  ScopedAutocast(const ScopedAutocast&) = delete;  // one guard, one scope: no copies
  ScopedAutocast& operator=(const ScopedAutocast&) = delete;
};
