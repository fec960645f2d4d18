// Reading a zip archive held in memory: the container of torch.save (PyTorch 1.6 and later),
// engine/pth.h. The central directory is the truth (torch's writer leaves the sizes of the local
// headers at zero and puts them in data descriptors); ZIP64 records are read for archives or
// entries past 4 GiB. Entries are stored (torch's choice) or deflated (zlib); every entry's
// CRC-32 is checked when it is read. Errors name the archive (`what`) and say whether the file
// looks cut short.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ptl {

struct ZipEntry {
  std::string name;
  uint64_t data_offset = 0;  // of the entry's (compressed) bytes in the archive
  uint64_t compressed_size = 0, size = 0;
  uint16_t method = 0;  // 0 stored, 8 deflated
  uint32_t crc32 = 0;
};

// True when `bytes` starts like a zip archive ("PK\3\4", or "PK\5\6" for an empty one).
bool looks_like_zip(std::string_view bytes);

class ZipReader {
 public:
  // Parses the directory of the archive `bytes` (which must outlive the reader).
  ZipReader(std::string_view bytes, std::string what);
  const std::vector<ZipEntry>& entries() const { return entries_; }
  // The entry called `name`, or nullptr.
  const ZipEntry* find(const std::string& name) const;
  // The entry's bytes: a view into the archive when stored, else inflated into `scratch`.
  std::string_view read(const ZipEntry& e, std::string& scratch) const;

 private:
  std::string_view bytes_;
  std::string what_;
  std::vector<ZipEntry> entries_;
};

}  // namespace ptl
