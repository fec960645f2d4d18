// Helpers for the data tests: small images and fake dataset trees on disk.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/image_encode.h"

namespace ptl::test {

// One CIFAR record: label byte(s), then planes R = 10 + label, G = pixel index low byte, B = 7.
inline std::string cifar_record(int label, bool cifar100) {
  std::string r;
  if (cifar100) r += static_cast<char>(label / 5);  // coarse
  r += static_cast<char>(label);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 1024; ++i)
      r += static_cast<char>(c == 0 ? 10 + label : c == 1 ? i & 255 : 7);
  return r;
}

// A deterministic RGB test pattern (gradients plus a checker) of h x w.
inline data::Image pattern_image(int h, int w, int seed = 0) {
  data::Image img(h, w, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = img.at(y, x);
      p[0] = static_cast<uint8_t>((x * 255) / std::max(1, w - 1));
      p[1] = static_cast<uint8_t>((y * 255) / std::max(1, h - 1));
      p[2] = static_cast<uint8_t>((((x / 4) + (y / 4) + seed) & 1) ? 200 : 40);
    }
  return img;
}

inline std::string jpeg_bytes(int h = 32, int w = 16, int seed = 0) {
  const data::Image img = pattern_image(h, w, seed);
  return data::encode_jpeg(img.w, img.h, 3, img.px.data(), 90);
}

// Writes a small valid JPEG at `path`, creating its folder.
inline void put_jpeg(const std::string& path, int seed = 0) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  data::write_file(path, jpeg_bytes(32, 16, seed));
}

inline void put_text(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  data::write_file(path, text);
}

}  // namespace ptl::test
