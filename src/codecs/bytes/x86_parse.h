// Where the next byte of x86-64 machine code lies in its instruction.
//
// The byte model's x86 context kinds (doc/models/bytes.md) need to know
// whether the next byte is a prefix or opcode, a ModRM or SIB byte, or part
// of a displacement or immediate, and of which instruction. X86Parse
// follows the instruction stream one byte at a time from the bytes already
// coded: prefixes (legacy, REX), the opcode maps (one byte, 0F, 0F 38,
// 0F 3A), VEX and EVEX, ModRM/SIB with their displacement, and the
// immediate sizes of each opcode. It assumes 64-bit code; in data or
// 32-bit code it mis-parses for a few bytes and falls back into step at
// the next instruction boundary it agrees on, which only makes the
// contexts less useful, never wrong: encoder and decoder run the same
// parser on the same bytes.
#pragma once

#include <cstdint>

namespace sibyl::x86 {

class X86Parse {
 public:
  // What the next byte is.
  enum Field : uint8_t { kStart, kEscape, kEscape3, kVex, kModrm, kSib, kDisp, kImm };

  Field field() const { return field_; }
  // Bytes of the current field already seen (prefixes at kStart).
  int pos() const { return pos_; }
  // The current instruction: opcode map (0: one byte, 1: 0F, 2: 0F 38,
  // 3: 0F 3A) << 8 | opcode; 0 before the opcode byte.
  uint32_t op() const { return op_; }
  int modrm() const { return modrm_; }  // -1 before the ModRM byte or without one
  // 66, REX.W (or VEX/EVEX W), F2/F3 seen in this instruction: bits 0-2.
  int prefixes() const { return prefixes_; }
  // The last three complete instructions: op() with the ModRM's mod and
  // reg fields (op << 5 | mod << 3 | reg; 0x1f without ModRM), newest in
  // the low 16 bits.
  uint64_t history() const { return history_; }

  void push(uint8_t b) {
    switch (field_) {
      case kStart: start(b); break;
      case kEscape:
        if (b == 0x38) {
          field_ = kEscape3, map_ = 2;
        } else if (b == 0x3a) {
          field_ = kEscape3, map_ = 3;
        } else {
          map_ = 1;
          opcode(b);
        }
        break;
      case kEscape3: opcode(b); break;
      case kVex:
        if (pos_ == 0) vex_map_ = vex_len_ == 1 ? 1 : (vex_len_ == 2 ? b & 31 : b & 3);
        if (pos_ == 1 && vex_len_ >= 2 && (b & 0x80)) prefixes_ |= kRexW;
        if (++pos_ == vex_len_) {
          map_ = vex_map_ >= 1 && vex_map_ <= 3 ? vex_map_ : 2;
          vex_ = true;
          field_ = kEscape3;  // the next byte is the opcode in map_
          pos_ = 0;
        }
        break;
      case kModrm: {
        modrm_ = b;
        const int mod = b >> 6, rm = b & 7;
        disp_ = mod == 1 ? 1 : mod == 2 ? 4 : (mod == 0 && rm == 5) ? 4 : 0;
        if (mod != 3 && rm == 4) {
          enter(kSib);
          break;
        }
        // F6 /0, /1 and F7 /0, /1 (TEST) carry an immediate, the rest of
        // groups 3 none.
        if (op_ == 0xf6 && (b >> 3 & 7) < 2) imm_ = 1;
        if (op_ == 0xf7 && (b >> 3 & 7) < 2) imm_ = (prefixes_ & k66) ? 2 : 4;
        operands();
        break;
      }
      case kSib:
        if ((modrm_ >> 6) == 0 && (b & 7) == 5) disp_ = 4;
        operands();
        break;
      case kDisp:
        if (++pos_ == disp_) {
          disp_ = 0;
          operands();
        }
        break;
      case kImm:
        if (++pos_ == imm_) finish();
        break;
    }
  }

  static constexpr int k66 = 1, kRexW = 2, kRep = 4;

 private:
  void enter(Field f) {
    field_ = f;
    pos_ = 0;
  }

  void start(uint8_t b) {
    if (b == 0x66) {
      prefixes_ |= k66;
    } else if (b == 0xf2 || b == 0xf3) {
      prefixes_ |= kRep;
    } else if ((b & 0xf0) == 0x40) {
      if (b & 8) prefixes_ |= kRexW;
    } else if (b == 0x67 || b == 0xf0 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x26 || b == 0x64 ||
               b == 0x65) {
      // other prefixes: nothing to remember
    } else if (b == 0x0f) {
      field_ = kEscape;
      return;
    } else if (b == 0xc4 || b == 0xc5 || b == 0x62) {
      vex_len_ = b == 0xc5 ? 1 : b == 0xc4 ? 2 : 3;
      enter(kVex);
      return;
    } else {
      map_ = 0;
      opcode(b);
      return;
    }
    if (pos_ < 15) ++pos_;
  }

  // The opcode byte of map_ has arrived: what follows it.
  void opcode(uint8_t b) {
    op_ = static_cast<uint32_t>(map_) << 8 | b;
    imm_ = 0;
    bool modrm = false;
    const int z = (prefixes_ & k66) ? 2 : 4;
    if (vex_) {
      modrm = !(map_ == 1 && b == 0x77);
      if (map_ == 3 || (map_ == 1 && ((b >= 0x70 && b <= 0x73) || b == 0xc2 || (b >= 0xc4 && b <= 0xc6)))) imm_ = 1;
    } else if (map_ == 0) {
      if (b < 0x40) {
        const int lo = b & 7;
        modrm = lo < 4;
        imm_ = lo == 4 ? 1 : lo == 5 ? z : 0;
      } else if (b == 0x63 || (b >= 0x84 && b <= 0x8f) || (b >= 0xd0 && b <= 0xd3) || (b >= 0xd8 && b <= 0xdf) ||
                 b == 0xf6 || b == 0xf7 || b == 0xfe || b == 0xff) {
        modrm = true;
      } else if (b == 0x69 || b == 0x81 || b == 0xc7) {
        modrm = true, imm_ = z;
      } else if (b == 0x6b || b == 0x80 || b == 0x82 || b == 0x83 || b == 0xc0 || b == 0xc1 || b == 0xc6) {
        modrm = true, imm_ = 1;
      } else if (b == 0x68) {
        imm_ = z;
      } else if (b == 0x6a || (b >= 0x70 && b <= 0x7f) || b == 0xa8 || (b >= 0xb0 && b <= 0xb7) || b == 0xcd ||
                 b == 0xd4 || b == 0xd5 || (b >= 0xe0 && b <= 0xe7) || b == 0xeb) {
        imm_ = 1;
      } else if (b == 0xa9) {
        imm_ = z;
      } else if (b >= 0xb8 && b <= 0xbf) {
        imm_ = (prefixes_ & kRexW) ? 8 : z;
      } else if (b >= 0xa0 && b <= 0xa3) {
        imm_ = 8;
      } else if (b == 0xc2 || b == 0xca) {
        imm_ = 2;
      } else if (b == 0xc8) {
        imm_ = 3;
      } else if (b == 0xe8 || b == 0xe9) {
        imm_ = 4;
      }
    } else if (map_ == 1) {
      modrm = !((b >= 0x05 && b <= 0x09) || b == 0x0b || b == 0x0e || (b >= 0x30 && b <= 0x37) || b == 0x77 ||
                (b >= 0x80 && b <= 0x8f) || (b >= 0xa0 && b <= 0xa2) || (b >= 0xa8 && b <= 0xaa) || b >= 0xc8);
      if (b >= 0x80 && b <= 0x8f) imm_ = 4;
      if ((b >= 0x70 && b <= 0x73) || b == 0xa4 || b == 0xac || b == 0xba || b == 0xc2 || (b >= 0xc4 && b <= 0xc6) ||
          b == 0x0f)
        imm_ = 1;
    } else {
      modrm = true;
      if (map_ == 3) imm_ = 1;
    }
    modrm_ = -1;
    disp_ = 0;
    if (modrm) {
      enter(kModrm);
    } else {
      operands();
    }
  }

  // After the opcode, ModRM and SIB: displacement, then immediate.
  void operands() {
    if (disp_ > 0 && field_ != kDisp) {
      enter(kDisp);
    } else if (imm_ > 0) {
      enter(kImm);
    } else {
      finish();
    }
  }

  void finish() {
    const uint32_t m = modrm_ < 0 ? 0x1f : static_cast<uint32_t>(modrm_ >> 6 << 3 | (modrm_ >> 3 & 7));
    history_ = (history_ << 16 | (op_ << 5 | m)) & 0xffffffffffffull;
    field_ = kStart;
    pos_ = 0;
    op_ = 0;
    modrm_ = -1;
    prefixes_ = 0;
    imm_ = disp_ = 0;
    vex_ = false;
  }

  Field field_ = kStart;
  int pos_ = 0;
  uint32_t op_ = 0;
  int modrm_ = -1;
  int prefixes_ = 0;
  int map_ = 0;
  int imm_ = 0, disp_ = 0;
  int vex_len_ = 0, vex_map_ = 0;
  bool vex_ = false;
  uint64_t history_ = 0;
};

}  // namespace sibyl::x86
