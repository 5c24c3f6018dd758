// Solution of exercise 06.1: get() makes one float image from the bytes; size() is N.
#include <torch/torch.h>

#include <optional>

class PixelDataset : public torch::data::datasets::Dataset<PixelDataset> {
 public:
  PixelDataset(torch::Tensor images, torch::Tensor labels)  // (N, H, W) uint8, (N,) int64
      : images_(std::move(images)), labels_(std::move(labels)) {}

  torch::data::Example<> get(size_t index) override {
    const auto i = static_cast<int64_t>(index);
    const auto image = images_[i].unsqueeze(0).to(torch::kFloat32).div(255.0);  // (1, H, W)
    return {image, labels_[i]};                                                 // label: ()
  }

  std::optional<size_t> size() const override { return static_cast<size_t>(images_.size(0)); }

 private:
  torch::Tensor images_, labels_;
};
