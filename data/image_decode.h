// Image decoding through stb_image: JPEG (baseline and progressive), PNG and BMP. Every image
// comes out as 3-channel RGB (grayscale is replicated, alpha is dropped like PIL's
// convert("RGB")). Errors name the file: missing, zero bytes, not an image, corrupt, truncated.
#pragma once
#include <string>
#include <vector>

#include "data/image.h"

namespace ptl::data {

// Decodes an in-memory file; `what` (usually its path) names it in error messages.
// A decoder that needs bytes past the end of the data means a truncated file: an error, even
// where stb would fill in the rest. Headers claiming more than 2^26 pixels are refused, and so
// are JPEG Huffman tables that would overflow stb_image 2.27's or that a scan uses before they
// are defined, and PNG chunks longer than the data (stb would allocate their claimed size first).
Image decode_image(const std::string& bytes, const std::string& what);

// Reads and decodes `path`.
Image load_image(const std::string& path);

// The file name endings of the formats above, lower-case with the dot (listings compare them
// case-insensitively): the files the dataset readers and `ptl embed` take as images.
const std::vector<std::string>& image_extensions();

}  // namespace ptl::data
