// The strong context-mixing byte codec (codec id 6, levels 2-9).
//
// Every byte is coded as 8 binary decisions. Contexts of many kinds
// (orders 1-24, words, columns, sparse and record contexts) each point to a
// bucket of bit-history states in one shared hashed table; a state map per
// kind turns a state into a prediction, a match model adds the byte that
// followed the last occurrence of the current context, gated mixers with
// weight sets chosen by small contexts combine them, a second mixer layer
// combines the mixers, and two APM stages refine the result.
// Described in doc/models/bytes.md; payload format in doc/format.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace sibyl {

// Context kinds, one bit each in CmConfig::contexts.
enum CmContext : int {
  kCmOrder2 = 0,
  kCmOrder3,
  kCmOrder4,
  kCmOrder5,
  kCmOrder6,
  kCmOrder8,
  kCmOrder12,
  kCmOrder16,
  kCmOrder24,
  kCmWord,         // the current word (or, between words, the last one)
  kCmWordPair,     // the current word and the one before
  kCmWordTriple,   // three words
  kCmColumnAbove,  // the byte above in the previous line, and the last byte
  kCmColumn,       // the byte above and the column
  kCmSparse23,     // bytes 2 and 3 back (skipping the last)
  kCmSparse34,     // bytes 3 and 4 back
  kCmSparse24,     // bytes 2 and 4 back (16-bit fields)
  kCmRecord,       // the bytes one and two records back (period found from the data)
  kCmRecordLast,   // the byte one record back and the last byte
  kCmField,        // field number in a delimited line, and the last byte
  // Version 2 kinds:
  kCmIndirect1,    // the last byte and the two bytes that followed its last two occurrences
  kCmIndirect2,    // the last two bytes and the two bytes that followed their last two occurrences
  kCmMatchByte,    // the byte the match model expects, its match length, and the last byte
  kCmWordSkip,     // the current word and the complete word before the last (between words: the last two words
                   // and the byte after, as the word pair)
  kCmLineStart,    // the current line's first two bytes, the column and the last byte
  kCmIndent,       // the current line's indentation, its first other byte and the last byte
  kCmX86Op,        // x86: the field of the instruction the next byte is in, its opcode and ModRM
  kCmX86Hist,      // x86: the same with the two instructions before
  kCmNest,         // C-like nesting: braces, parentheses, comment, string; the last two bytes
  kCmContextKinds
};
// A mask names at most this many kinds (the mixer's vectors hold 32 inputs).
inline constexpr int kCmMaxKinds = 28;
constexpr int kCmV1ContextKinds = kCmIndirect1;  // version 1 names kinds 0-19 only

// Extra weight sets of the first mixer layer (version 2), one bit each in
// CmConfig::mixer, each selected by its own small context.
enum CmMixerSet : int {
  kCmSetOrder2 = 0,  // the byte two back and the partial byte (65,536 vectors)
  kCmSetText,        // character classes of the last two bytes, word length, bit position (8,192)
  kCmSetSparse3,     // the byte three back and the partial byte (65,536)
  // Not sets: this bit drops the base set chosen by the contexts found
  // and the bit position;
  kCmSetDropFound,
  // this one widens the partial byte's base set: it is also chosen by the
  // contexts found and the class of the last byte (16,384 vectors).
  kCmSetWideFirst,
  kCmSetX86,  // the x86 field of the next byte, its position and the ModRM mode, and the partial byte (65,536)
  kCmMixerBits
};
// The sets the mixer bits add, in the order of their weight vectors.
inline constexpr int kCmMixerSets = 4;
inline constexpr int kCmMixerSetBit[kCmMixerSets] = {kCmSetOrder2, kCmSetText, kCmSetSparse3, kCmSetX86};

struct CmConfig {
  // Version 1: 6 parameter bytes, kinds 0-19, three weight sets. Version 2
  // (what the encoder writes): 8 bytes (a 32-bit mask), the kinds of
  // version 2 and the weight sets of `mixer`.
  static constexpr uint8_t kVersion = 2;
  uint8_t version = kVersion;
  uint8_t table_log = 22;  // log2 of 16-byte buckets in the shared table
  uint8_t match_log = 22;  // log2 of match-model entries
  uint32_t contexts = 0;   // CmContext bits (24 bits stored in version 1, 32 in version 2)
  uint8_t mixer = 0;       // CmMixerSet bits (version 2)

  static constexpr int kMinTableLog = 12, kMaxTableLog = 26;
  static constexpr int kMinMatchLog = 10, kMaxMatchLog = 26;

  std::vector<uint8_t> serialize() const;
  static Status parse(std::span<const uint8_t> params, CmConfig* out);
  uint64_t memory_bytes() const;
  // Smaller tables for a block of `size` bytes.
  CmConfig fitted(size_t size) const;
  int context_count() const { return __builtin_popcount(contexts); }
};

Status cm_encode(const CmConfig& config, std::span<const uint8_t> in, std::vector<uint8_t>& out);
Status cm_decode(const CmConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out);

// Knobs for the tuning bench (bench/cm_tune.cpp); the codec's format fixes
// the defaults.
struct CmTuning {
  int sm_limit = 1023;  // state-map count cap
  int mixer_rate = 8;   // first layer; at most 8 (the error times the rate is an int16)
  int apm_rate = 6;
  int mixer_shift = 3;  // the second layer learns at 2^-(10 + mixer_shift)
  int apm = 1;          // 0: no APM stage (for measuring it)
  int x86 = 1;          // 0: never apply the x86 transform (for measuring it)
  // 0: no early fetch of the second nibble's buckets (for measuring it;
  // the output is the same either way).
  int prefetch = 1;
};
CmTuning& cm_tuning();

}  // namespace sibyl
