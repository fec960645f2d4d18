#include "data/image_decode.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/error.h"
#include "data/file_util.h"

// The one stb_image implementation of the project. Only the formats the datasets use.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#endif
#include <stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace ptl::data {

namespace {
constexpr int64_t kMaxPixels = int64_t{1} << 26;  // 64 Mpixel: far above any dataset image

// stb reads through these callbacks so that a read at the end of the data is seen: stb itself
// would pad a truncated JPEG or BMP with zeros and report success.
struct Reader {
  const std::string* bytes;
  size_t pos = 0;
  bool overran = false;
};

int read_cb(void* user, char* out, int size) {
  auto* r = static_cast<Reader*>(user);
  size_t left = r->bytes->size() - r->pos;
  if (left == 0) {
    r->overran = true;
    return 0;
  }
  size_t n = std::min(left, static_cast<size_t>(size));
  std::memcpy(out, r->bytes->data() + r->pos, n);
  r->pos += n;
  return static_cast<int>(n);
}

void skip_cb(void* user, int n) {
  auto* r = static_cast<Reader*>(user);
  // stb skips backwards only within its own buffer; clamp both ways.
  int64_t p = static_cast<int64_t>(r->pos) + n;
  if (p > static_cast<int64_t>(r->bytes->size())) r->overran = true;
  r->pos = static_cast<size_t>(std::max<int64_t>(0, std::min<int64_t>(p, r->bytes->size())));
}

int eof_cb(void* user) {
  auto* r = static_cast<Reader*>(user);
  return r->pos >= r->bytes->size();
}

// Two stb_image 2.27 bugs (both fixed upstream in 2.28) are kept out by walking the JPEG
// segments first: it writes past its Huffman tables when a DHT segment declares more than 256
// codes, and a scan that uses a table no DHT has defined yet decodes with uninitialised memory
// and reads outside the table. The walk follows stb's: length-prefixed segments are skipped
// whole, entropy-coded data byte by byte (inside it 0xFF is always followed by 0x00 or a
// restart marker), and bytes past the end read as zeros, as stb reads them.
void check_jpeg_tables(const std::string& b, const std::string& what) {
  const auto u8 = [&](size_t i) { return i < b.size() ? static_cast<uint8_t>(b[i]) : 0; };
  bool progressive = false;
  unsigned defined = 0;  // bit th: DC table th; bit 4 + th: AC table th
  size_t p = 2;
  while (p + 4 <= b.size()) {
    if (u8(p) != 0xFF || u8(p + 1) == 0xFF) {
      ++p;
      continue;
    }
    const uint8_t m = u8(p + 1);
    if (m == 0xD9) return;                                                  // end of image
    if (m == 0x00 || m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) {  // no length field
      p += 2;
      continue;
    }
    const size_t end = p + 2 + (static_cast<size_t>(u8(p + 2)) << 8 | u8(p + 3));
    if (m == 0xC2) progressive = true;
    if (m == 0xC4) {
      // stb reads a table's 16 counts whole even where they run past the segment's end.
      for (size_t t = p + 4; t < end;) {
        size_t codes = 0;
        for (size_t i = 1; i <= 16; ++i) codes += u8(t + i);
        PTL_CHECK(codes <= 256, what, ": corrupt JPEG (a Huffman table declares ", codes,
                  " codes)");
        if (u8(t) >> 4 <= 1 && (u8(t) & 15) <= 3)
          defined |= 1u << ((u8(t) >> 4) * 4 + (u8(t) & 15));
        t += 17 + codes;
      }
    }
    if (m == 0xDA) {
      // Which tables stb decodes with: sequential scans both; progressive DC scans (Ss = 0) the
      // DC table on the first pass (Ah = 0) only; progressive AC scans the AC table.
      const size_t n = u8(p + 4);
      const uint8_t ss = u8(p + 5 + 2 * n), ah = u8(p + 7 + 2 * n) >> 4;
      const bool dc = !progressive || (ss == 0 && ah == 0), ac = !progressive || ss != 0;
      for (size_t i = 0; i < n; ++i) {
        const unsigned td = u8(p + 6 + 2 * i) >> 4, ta = u8(p + 6 + 2 * i) & 15;
        PTL_CHECK(!(dc && td <= 3 && !(defined >> td & 1)) &&
                      !(ac && ta <= 3 && !(defined >> (4 + ta) & 1)),
                  what, ": corrupt JPEG (a scan uses a Huffman table before it is defined)");
      }
    }
    p = std::min(b.size(), end);
  }
}

// stb grows its IDAT buffer to a chunk's declared length before reading the chunk, so a PNG of
// a few bytes claiming a 1 GB chunk allocates 1-2 GB. A chunk longer than the data left is a
// cut-off file; the chunks (length, type, data, CRC) are walked first to refuse it. An empty
// IDAT chunk before any image data makes stb 2.27 copy 0 bytes into its buffer while it is
// still null (undefined behaviour; found by fuzzing: regress_png_empty_first_idat.png), so that
// is refused as corrupt too.
void check_png_chunks(const std::string& b, const std::string& what) {
  const auto u8 = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(b[i])); };
  bool image_data = false;  // an IDAT chunk with data seen
  for (size_t p = 8; p + 8 <= b.size();) {
    const size_t len = u8(p) << 24 | u8(p + 1) << 16 | u8(p + 2) << 8 | u8(p + 3);
    PTL_CHECK(len + 12 <= b.size() - p, what, ": truncated PNG (a chunk of ", len, " bytes, ",
              b.size() - p, " bytes left in the file)");
    if (b.compare(p + 4, 4, "IEND") == 0) return;
    if (b.compare(p + 4, 4, "IDAT") == 0) {
      PTL_CHECK(len > 0 || image_data, what,
                ": corrupt PNG (an empty IDAT chunk before any image data)");
      image_data = true;
    }
    p += 12 + len;
  }
}

// The format from the file's magic bytes; nullptr when it is none of ours.
const char* format_of(const std::string& b) {
  const auto at = [&](size_t i) { return i < b.size() ? static_cast<uint8_t>(b[i]) : 0; };
  if (at(0) == 0xFF && at(1) == 0xD8) return "JPEG";
  if (at(0) == 0x89 && at(1) == 'P' && at(2) == 'N' && at(3) == 'G') return "PNG";
  if (at(0) == 'B' && at(1) == 'M') return "BMP";
  return nullptr;
}
}  // namespace

Image decode_image(const std::string& bytes, const std::string& what) {
  PTL_CHECK(!bytes.empty(), what, ": zero-byte file, not an image");
  const char* format = format_of(bytes);
  PTL_CHECK(format != nullptr, what, ": not a JPEG, PNG or BMP image");
  if (format[0] == 'J') check_jpeg_tables(bytes, what);
  if (format[0] == 'P') check_png_chunks(bytes, what);
  Reader reader{&bytes};
  stbi_io_callbacks cb{read_cb, skip_cb, eof_cb};
  int w = 0, h = 0, c = 0;
  // A corrupt header can claim gigapixels; refuse before stb allocates for them.
  if (stbi_info_from_callbacks(&cb, &reader, &w, &h, &c)) {
    // stb's BMP info gives a top-down image's height as it is stored, negative (only the
    // loader takes its absolute value; found by fuzzing: regress_bmp_negative_height.bmp).
    const int64_t pixels = std::abs(static_cast<int64_t>(w)) * std::abs(static_cast<int64_t>(h));
    PTL_CHECK(pixels <= kMaxPixels, what, ": image of ", w, "x", h, " pixels is larger than the ",
              kMaxPixels, "-pixel limit (corrupt header?)");
    // stb reads BMPs uncompressed, at least one bit a pixel: a header claiming more pixels than
    // the file has bits is truncated, and stb would fill megapixels before noticing (found by
    // fuzzing: tests/fuzz/corpus/image/regress_bmp_huge_claim.bmp).
    PTL_CHECK(format[0] != 'B' || pixels <= 8 * static_cast<int64_t>(bytes.size()), what,
              ": truncated BMP (the header says ", w, "x", std::abs(h), " pixels, the file has ",
              bytes.size(), " bytes)");
  }
  reader = Reader{&bytes};
  stbi_uc* px = stbi_load_from_callbacks(&cb, &reader, &w, &h, &c, 3);
  if (px == nullptr) {
    PTL_CHECK(!reader.overran, what, ": truncated ", format,
              " (the data ends before the image does)");
    fail(str(what, ": corrupt ", format, " (",
             stbi_failure_reason() ? stbi_failure_reason() : "unknown error", ")"));
  }
  if (w <= 0 || h <= 0) {  // stb's BMP reader accepts a header of zero rows or columns
    stbi_image_free(px);
    fail(str(what, ": corrupt ", format, " (the header says ", w, "x", h, " pixels)"));
  }
  Image img;
  img.h = h;
  img.w = w;
  img.c = 3;
  img.px.assign(px, px + static_cast<size_t>(w) * h * 3);
  stbi_image_free(px);
  PTL_CHECK(!reader.overran, what, ": truncated ", format,
            " (the data ends before the image does)");
  return img;
}

Image load_image(const std::string& path) {
  return decode_image(read_file(path), path);
}

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> exts = {".jpg", ".jpeg", ".png", ".bmp"};
  return exts;
}

}  // namespace ptl::data
