// seed.h: one call that makes a run repeatable (LibTorch's CPU and CUDA generators).
#pragma once

#include <cstdint>

namespace course {

/// Seeds LibTorch's default CPU generator and, when present, every CUDA generator.
void seed_everything(std::uint64_t seed);

}  // namespace course
