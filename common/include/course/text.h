// text.h: Debian's fortune files as corpora (entries between lines holding "%"), and UTF-8 text
// as Unicode code points, so that one Chinese character is one token, not three bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "course/flags.h"

namespace course {

/// Reads a fortune file (/usr/share/games/fortunes/<name>): entries are separated by lines that
/// hold only "%". Each entry keeps its inner newlines; ANSI colour escapes (ESC [ ... m, on the
/// title lines of tang300 and song100) are removed; trailing spaces and newlines are trimmed;
/// empty entries are skipped. Throws std::runtime_error naming the file when it cannot be read,
/// holds no entry, or is not valid UTF-8 (with the line and byte of the first bad byte).
std::vector<std::string> read_fortunes(const std::filesystem::path& path);

/// The folder with the named fortune collections: --data-dir, then $COURSE_DATA_DIR, the course's
/// datasets/, /usr/share/datasets and /usr/share/games (where Debian's fortunes and fortunes-zh
/// put them). Throws with the packages to install when one is missing.
std::filesystem::path find_fortunes(const Options& options,
                                    const std::vector<std::string>& collections);

/// UTF-8 bytes -> code points. Throws std::invalid_argument at the first invalid sequence (a
/// stray continuation byte, a truncated sequence, an overlong form, a surrogate, a value above
/// U+10FFFF), naming its byte offset. Python: text.encode() / bytes.decode("utf-8").
std::u32string decode_utf8(std::string_view bytes);

/// Code points -> UTF-8 bytes. Python: "".join(chr(c) for c in points).encode()
std::string encode_utf8(std::u32string_view points);

}  // namespace course
