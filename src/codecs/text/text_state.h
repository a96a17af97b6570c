// What the strong byte model tracks about text: words (letters, case
// folded), lines and columns. Updated once per byte; the hashes feed the
// word and column contexts of src/codecs/bytes/cm.cpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace sibyl::text {

// Letters are ASCII letters and the bytes of UTF-8 sequences (>= 0x80), so
// words of most scripts hash as words.
inline bool is_word_byte(uint8_t c) { return static_cast<unsigned>((c | 0x20) - 'a') < 26u || c >= 0x80; }
inline uint8_t fold(uint8_t c) { return static_cast<unsigned>(c - 'A') < 26u ? static_cast<uint8_t>(c | 0x20) : c; }

struct TextState {
  uint32_t word0 = 0;  // hash of the word being read (0 between words)
  uint32_t word1 = 0;  // the last complete word
  uint32_t word2 = 0;  // the one before it
  uint32_t word_len = 0;
  size_t line_start = 0;       // position of the current line's first byte
  size_t prev_line_start = 0;  // and of the line before it
  uint32_t fields = 0;         // separators (, ; tab |) seen in the current line
  uint8_t separator = 0;       // the most recent of them
  // The spaces and tabs that start the current line (at most kMaxIndent)
  // and the byte after them (256 until it is seen; after kMaxIndent of
  // them, whatever byte comes next).
  static constexpr uint32_t kMaxIndent = 64;
  uint32_t indent = 0;
  uint32_t indent_end = 256;

  // Called with byte c, the byte at position pos - 1.
  void push(uint8_t c, size_t pos) {
    if (is_word_byte(c)) {
      word0 = (word0 + fold(c) + 1) * 0x2f0f3d27u;
      if (word0 == 0) word0 = 1;
      ++word_len;
    } else if (word0 != 0) {
      word2 = word1;
      word1 = word0;
      word0 = 0;
      word_len = 0;
    }
    if (c == '\n') {
      prev_line_start = line_start;
      line_start = pos;
      fields = 0;
      indent = 0;
      indent_end = 256;
      return;
    }
    if (indent_end == 256) {
      if (indent < kMaxIndent && (c == ' ' || c == '\t')) ++indent;
      else indent_end = c;
    }
    if (c == ',' || c == ';' || c == '\t' || c == '|') {
      ++fields;
      separator = c;
    }
  }

  size_t column(size_t pos) const { return pos - line_start; }
  // The byte above the next one in the previous line (0 past its end).
  int above(const uint8_t* data, size_t pos) const {
    const size_t col = pos - line_start;
    const size_t q = prev_line_start + col;
    return q < line_start ? data[q] : 0;
  }
};

// Nesting in C-like text (C, C++, Java, JavaScript, CSS, ...): the depth
// of braces, of parentheses within the line, whether the next byte is in a
// comment (// to the end of the line, /* to */) or in a string or character
// literal (" or ' to the same quote not after a backslash, or to the end of
// the line). Braces and parentheses in comments and strings do not count.
// A byte model context (kind 28 of codec 6): whatever the text, encoder
// and decoder follow it the same way.
struct Nesting {
  uint32_t brace = 0, paren = 0;
  uint8_t comment = 0;  // 1: line comment, 2: block comment
  uint8_t quote = 0;    // the opening quote, or 0
  uint8_t prev = 0;

  void push(uint8_t c) {
    if (comment == 1) {
      if (c == '\n') comment = 0;
    } else if (comment == 2) {
      if (prev == '*' && c == '/') comment = 0;
    } else if (quote != 0) {
      if ((c == quote && prev != '\\') || c == '\n') quote = 0;
    } else if (prev == '/' && c == '/') {
      comment = 1;
    } else if (prev == '/' && c == '*') {
      comment = 2;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '{') {
      if (brace < 255) ++brace;
    } else if (c == '}') {
      if (brace > 0) --brace;
    } else if (c == '(') {
      if (paren < 255) ++paren;
    } else if (c == ')') {
      if (paren > 0) --paren;
    }
    if (c == '\n') paren = 0;
    prev = c;
  }
  // Brace depth (up to 15), parenthesis depth (up to 3), comment, in a string.
  uint32_t state() const {
    return std::min<uint32_t>(brace, 15) | std::min<uint32_t>(paren, 3) << 4 | uint32_t(comment) << 6 |
           uint32_t(quote != 0) << 8;
  }
};

}  // namespace sibyl::text
