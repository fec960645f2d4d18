// Small pieces of the text ptl prints: counted nouns ("1 epoch", "2 epochs"), durations and words
// of a printed command quoted for the shell, so a path with a space still pastes as one argument.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace ptl {

// "1 epoch", "3 epochs"; `plural_form` for nouns that do not just take an s ("identities").
inline std::string count_of(int64_t n, const std::string& noun,
                            const std::string& plural_form = "") {
  return std::to_string(n) + " " + (n == 1 ? noun : plural_form.empty() ? noun + "s" : plural_form);
}

// A duration in seconds as H:MM:SS (progress lines' elapsed and remaining times).
inline std::string fmt_duration(double s) {
  const long t = static_cast<long>(s);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return buf;
}

// The word as a POSIX shell reads it back: unchanged when it holds only characters the shell
// leaves alone, else in single quotes (a quote inside becomes '\'').
inline std::string shell_quote(const std::string& word) {
  bool plain = !word.empty();
  for (char c : word)
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      std::string("_-./:=,+@%").find(c) != std::string::npos);
  if (plain) return word;
  std::string q = "'";
  for (char c : word) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace ptl
