// Store codec (id 0): the payload is the original bytes. Used for any block
// another codec cannot shrink, so a block never grows by more than its header.
#pragma once

#include "codecs/codec.h"

namespace sibyl {
extern const Codec kStoreCodec;
}
