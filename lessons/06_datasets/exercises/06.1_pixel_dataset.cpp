// Exercise 06.1: a Dataset's get() and size().
//
// PixelDataset holds images as bytes, uint8 (N, H, W), and their labels, int64 (N,). Write the
// two functions every torch::data Dataset has:
//   size()     the number of samples, N.
//   get(index) sample `index` as an Example {data, target}: data is the image as float32
//              (1, H, W) in 0..1 (the bytes divided by 255, with a channel dimension in front),
//              target is its label, an int64 tensor of shape ().
// Python:  def __len__(self): return len(self.images)
//          def __getitem__(self, i): return TF.to_tensor(self.images[i]), self.labels[i]
// A data loader calls get() once per sample and stacks the samples into a batch (B, 1, H, W).
//
// Check it: ./course check 06.1     A hint: ./course hint 06.1
#include <torch/torch.h>

#include <optional>

class PixelDataset : public torch::data::datasets::Dataset<PixelDataset> {
 public:
  PixelDataset(torch::Tensor images, torch::Tensor labels)  // (N, H, W) uint8, (N,) int64
      : images_(std::move(images)), labels_(std::move(labels)) {}

  torch::data::Example<> get(size_t index) override {
    // TODO: replace this line with your code.
    return {torch::zeros({1}), torch::zeros({}, torch::kInt64)};
  }

  std::optional<size_t> size() const override {
    // TODO: replace this line with your code.
    return 0;
  }

 private:
  torch::Tensor images_, labels_;
};
