/* libsibyl: the C interface of the Sibyl compressor.
 *
 * Stable section: everything outside `#ifdef SIBYL_EXPERIMENTAL`. Its
 * names, numbers and behaviour do not change within a major version.
 * Experimental section: define SIBYL_EXPERIMENTAL before including this
 * header; it may change in any release.
 *
 * Conventions
 *  - Every fallible function returns an `int` error code: SIBYL_OK (0) or
 *    one of the positive `sibyl_error` values. The numbers never change.
 *    sibyl_error_name() gives a short stable name for each.
 *  - The library never prints, exits or aborts on bad input, and never
 *    reads or writes outside the buffers it is given.
 *  - Contexts are independent: different contexts may be used from
 *    different threads at the same time; one context must not be used from
 *    two threads at once.
 *  - Output is deterministic: the same input and parameters give the same
 *    archive bytes for every thread count, build and CPU.
 *
 * The archive format is specified in doc/format.md; the one-shot and the
 * streaming functions write and read the same format as the `sibyl`
 * program.
 */
#ifndef SIBYL_SIBYL_H
#define SIBYL_SIBYL_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) && defined(SIBYL_BUILDING_SHARED)
#define SIBYL_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define SIBYL_API __attribute__((visibility("default")))
#else
#define SIBYL_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ version */

#define SIBYL_VERSION_MAJOR 0
#define SIBYL_VERSION_MINOR 2
#define SIBYL_VERSION_PATCH 0
#define SIBYL_VERSION_NUMBER (SIBYL_VERSION_MAJOR * 10000 + SIBYL_VERSION_MINOR * 100 + SIBYL_VERSION_PATCH)
#define SIBYL_VERSION_STRING_(a, b, c) #a "." #b "." #c
#define SIBYL_VERSION_STRING_X(a, b, c) SIBYL_VERSION_STRING_(a, b, c)
#define SIBYL_VERSION_TEXT SIBYL_VERSION_STRING_X(SIBYL_VERSION_MAJOR, SIBYL_VERSION_MINOR, SIBYL_VERSION_PATCH)

/* The version of the library actually linked (compare with the macros). */
SIBYL_API unsigned sibyl_version_number(void);
SIBYL_API const char* sibyl_version_string(void);

/* ------------------------------------------------------------ errors */

typedef enum sibyl_error {
  SIBYL_OK = 0,
  SIBYL_ERROR_IO = 1,                  /* a read/write callback or stream failed */
  SIBYL_ERROR_CORRUPT = 2,             /* structurally invalid archive data */
  SIBYL_ERROR_TRUNCATED = 3,           /* archive ends inside a frame */
  SIBYL_ERROR_CHECKSUM = 4,            /* decoded bytes do not match the stored XXH64 */
  SIBYL_ERROR_UNSUPPORTED_VERSION = 5, /* format version newer than this library */
  SIBYL_ERROR_UNKNOWN_CODEC = 6,       /* codec id unknown to this library */
  SIBYL_ERROR_BAD_PARAMETERS = 7,      /* codec parameters this library cannot honour */
  SIBYL_ERROR_MEMORY_LIMIT = 8,        /* the work needs more memory than the limit allows */
  SIBYL_ERROR_INVALID_ARGUMENT = 9,    /* bad parameter value, NULL pointer, ... */
  SIBYL_ERROR_NOT_SIBYL = 10,          /* input does not start with the Sibyl magic */
  SIBYL_ERROR_INTERNAL = 11,           /* a bug: please report it */
  SIBYL_ERROR_DST_TOO_SMALL = 12,      /* the output buffer of a one-shot call is too small */
  SIBYL_ERROR_OUT_OF_MEMORY = 13,      /* an allocation failed */
  SIBYL_ERROR_UNSUPPORTED = 14,        /* valid request this build cannot serve */
  SIBYL_ERROR_STAGE_WRONG = 15         /* call out of order (e.g. a parameter set mid-stream) */
} sibyl_error;

/* Short stable name of an error code ("corrupt", "truncated", ...);
 * "unknown" for a number that is not a code. Never NULL. */
SIBYL_API const char* sibyl_error_name(int code);

/* ------------------------------------------------------------ parameters */

#define SIBYL_LEVEL_MIN 1
#define SIBYL_LEVEL_MAX 9
#define SIBYL_LEVEL_DEFAULT 6

typedef enum sibyl_param {
  /* Compression level 1..9 (default 6). Compression only. */
  SIBYL_PARAM_LEVEL = 1,
  /* Blocks compressed or decoded in parallel, 1..256 (default 1). The
   * archive bytes are the same for every value. */
  SIBYL_PARAM_THREADS = 2,
  /* What the data is (sibyl_type); SIBYL_TYPE_AUTO detects it. */
  SIBYL_PARAM_TYPE_HINT = 3,
  /* Memory limit in MiB (0 = default: 4096 for decompression, none for
   * compression). Decompression refuses archives that need more;
   * compression uses fewer threads to stay below it, and fails with
   * SIBYL_ERROR_MEMORY_LIMIT if one thread alone needs more. */
  SIBYL_PARAM_MEMORY_LIMIT_MIB = 4,
  /* 1 = decode every block again before it is written (compression). */
  SIBYL_PARAM_VERIFY = 5,
  /* Not a parameter: makes the type as wide as int, so any number a caller
   * passes is a valid value (and is rejected as unknown). */
  SIBYL_PARAM_ENUM_MAX_ = 0x7FFFFFFF
} sibyl_param;

typedef enum sibyl_type {
  SIBYL_TYPE_AUTO = 0,  /* detect from the content (never a file name) */
  SIBYL_TYPE_BYTES = 1, /* general byte model */
  SIBYL_TYPE_TEXT = 2,
  SIBYL_TYPE_AUDIO = 3,
  SIBYL_TYPE_IMAGE = 4,
  SIBYL_TYPE_TENSOR = 5
} sibyl_type;

/* ------------------------------------------------------------ one-shot */

/* Largest archive sibyl_compress() can produce for src_size bytes, at any
 * level. Returns 0 if the result would not fit in a size_t. */
SIBYL_API size_t sibyl_compress_bound(size_t src_size);

/* Compresses src into dst as one frame. On success *dst_size is the
 * archive size. SIBYL_ERROR_DST_TOO_SMALL if dst_capacity is not enough
 * (sibyl_compress_bound() always is). */
SIBYL_API int sibyl_compress(void* dst, size_t dst_capacity, size_t* dst_size, const void* src, size_t src_size,
                             int level);

/* Decompresses a whole archive (one or more frames). On success *dst_size
 * is the number of bytes written. SIBYL_ERROR_DST_TOO_SMALL if the content
 * does not fit. */
SIBYL_API int sibyl_decompress(void* dst, size_t dst_capacity, size_t* dst_size, const void* src, size_t src_size);

/* The decompressed size recorded in a complete archive's frames, read from
 * their end records without decoding anything. The archive's structure is
 * checked; its content is not (sibyl_decompress() does that). */
SIBYL_API int sibyl_content_size(const void* src, size_t src_size, uint64_t* content_size);

/* ------------------------------------------------------------ streaming */

typedef struct sibyl_in_buffer {
  const void* src; /* start of the input */
  size_t size;     /* its size */
  size_t pos;      /* bytes already read; the library advances it */
} sibyl_in_buffer;

typedef struct sibyl_out_buffer {
  void* dst;   /* start of the output space */
  size_t size; /* its size */
  size_t pos;  /* bytes already written; the library advances it */
} sibyl_out_buffer;

typedef enum sibyl_end_directive {
  SIBYL_CONTINUE = 0, /* take input, write output when ready */
  SIBYL_FLUSH = 1,    /* also end the current block so all input so far can be decoded */
  SIBYL_END = 2,      /* no more input: finish the frame */
  SIBYL_DIRECTIVE_ENUM_MAX_ = 0x7FFFFFFF /* not a directive (see SIBYL_PARAM_ENUM_MAX_) */
} sibyl_end_directive;

/* Optional allocator for the context itself, every model table and every
 * decoded block. Other buffers use the C++ heap: when compressing, the
 * input blocks waiting to be compressed and their coded output (up to two
 * block sizes per thread, as much as or more than the tables at low
 * levels); when decompressing, the coded payloads.
 * alloc must return memory aligned as malloc's; with threads > 1 it is
 * called from several threads at once, so it must be thread-safe. NULL
 * members or a NULL allocator mean the default. */
typedef struct sibyl_allocator {
  void* (*alloc)(void* opaque, size_t size); /* NULL on failure */
  void (*free)(void* opaque, void* ptr);
  void* opaque;
} sibyl_allocator;

typedef struct sibyl_cstream sibyl_cstream;
typedef struct sibyl_dstream sibyl_dstream;

/* NULL only when out of memory. */
SIBYL_API sibyl_cstream* sibyl_cstream_create(void);
SIBYL_API sibyl_cstream* sibyl_cstream_create_with(const sibyl_allocator* allocator);
SIBYL_API void sibyl_cstream_free(sibyl_cstream* cs); /* NULL is fine */

/* Sets a parameter for the next stream. Allowed before the first
 * sibyl_compress_stream() call of a stream (or after sibyl_cstream_reset());
 * SIBYL_ERROR_STAGE_WRONG otherwise, SIBYL_ERROR_INVALID_ARGUMENT for a
 * value out of range. */
SIBYL_API int sibyl_cstream_set_param(sibyl_cstream* cs, sibyl_param param, long long value);

/* Drops the current stream (if any) and starts a new one with the same
 * parameters. */
SIBYL_API int sibyl_cstream_reset(sibyl_cstream* cs);

/* Reads from *in and writes to *out, advancing both `pos` fields.
 * - SIBYL_CONTINUE: buffers input and writes compressed output as blocks
 *   fill up; returns when the input is used up or the output is full.
 * - SIBYL_FLUSH: as CONTINUE, then compresses what is buffered (a shorter
 *   block) and writes it.
 * - SIBYL_END: as FLUSH, then writes the end of the frame.
 * *remaining (may be NULL) is set to the number of bytes still to be
 * written before the directive is complete; 0 means done (for SIBYL_END:
 * the frame is complete and the context is ready for a new stream). Call
 * again with more output space while it is non-zero.
 * An error ends the stream: later calls return the same code until
 * sibyl_cstream_reset(). */
SIBYL_API int sibyl_compress_stream(sibyl_cstream* cs, sibyl_out_buffer* out, sibyl_in_buffer* in,
                                    sibyl_end_directive directive, size_t* remaining);

/* A one-line description of the context's last error ("" if none). Valid
 * until the next call on the context. */
SIBYL_API const char* sibyl_cstream_message(const sibyl_cstream* cs);

SIBYL_API sibyl_dstream* sibyl_dstream_create(void);
SIBYL_API sibyl_dstream* sibyl_dstream_create_with(const sibyl_allocator* allocator);
SIBYL_API void sibyl_dstream_free(sibyl_dstream* ds);

/* SIBYL_PARAM_THREADS and SIBYL_PARAM_MEMORY_LIMIT_MIB; same rules as for
 * compression streams. */
SIBYL_API int sibyl_dstream_set_param(sibyl_dstream* ds, sibyl_param param, long long value);
SIBYL_API int sibyl_dstream_reset(sibyl_dstream* ds);

/* Reads archive bytes from *in and writes decoded bytes to *out, advancing
 * both. Blocks are decoded when `threads` of them have arrived or their
 * frame ends; a call that brings no input (in->pos == in->size on entry)
 * decodes the complete blocks already received (with threads = 1 every
 * block is decoded as soon as it is complete). Output is written only after its
 * block's checksum has been verified. *at_end (may be NULL) is set to 1
 * when the input read so far is a complete archive and all its output has
 * been written, 0 otherwise (more input or output space needed).
 * Concatenated archives decode as one stream. */
SIBYL_API int sibyl_decompress_stream(sibyl_dstream* ds, sibyl_out_buffer* out, sibyl_in_buffer* in, int* at_end);

/* Call when the input has ended: SIBYL_OK if it ended after a complete
 * frame with all output written; otherwise the error describing where it
 * stopped (SIBYL_ERROR_NOT_SIBYL for empty input, SIBYL_ERROR_TRUNCATED,
 * SIBYL_ERROR_CORRUPT for trailing garbage). SIBYL_ERROR_STAGE_WRONG if
 * decoded output is still waiting to be written: not an error of the
 * stream (drain it with sibyl_decompress_stream and call again). */
SIBYL_API int sibyl_decompress_stream_end(sibyl_dstream* ds);

SIBYL_API const char* sibyl_dstream_message(const sibyl_dstream* ds);

/* Bytes read and written by the current stream so far. */
SIBYL_API void sibyl_cstream_progress(const sibyl_cstream* cs, uint64_t* bytes_in, uint64_t* bytes_out);
SIBYL_API void sibyl_dstream_progress(const sibyl_dstream* ds, uint64_t* bytes_in, uint64_t* bytes_out);

/* ------------------------------------------------------------ experimental */
#ifdef SIBYL_EXPERIMENTAL

/* Block size as log2 (10..30) instead of the level's (tests, tuning).
 * Changes the archive bytes. */
#define SIBYL_PARAM_X_BLOCK_LOG ((sibyl_param)1001)

/* A raw array of numbers (no NPY or safetensors header): the element type
 * (sibyl_x_dtype) and the elements per row (its last axis, default 1).
 * Setting a type other than SIBYL_X_DTYPE_NONE implies SIBYL_TYPE_TENSOR.
 * Changes the archive bytes, never what they decode to. */
#define SIBYL_PARAM_X_TENSOR_DTYPE ((sibyl_param)1002)
#define SIBYL_PARAM_X_TENSOR_ROW ((sibyl_param)1003)
typedef enum {
  SIBYL_X_DTYPE_NONE = 0,
  SIBYL_X_DTYPE_F32 = 1,
  SIBYL_X_DTYPE_F16 = 2,
  SIBYL_X_DTYPE_BF16 = 3,
  SIBYL_X_DTYPE_F64 = 4,
  SIBYL_X_DTYPE_I8 = 5,
  SIBYL_X_DTYPE_U8 = 6,
  SIBYL_X_DTYPE_I16 = 7,
  SIBYL_X_DTYPE_U16 = 8,
  SIBYL_X_DTYPE_I32 = 9,
  SIBYL_X_DTYPE_U32 = 10
} sibyl_x_dtype;

/* KV caches ([layers, ..., tokens, channels], as in CacheGen). A raw array
 * is one when SIBYL_PARAM_X_TENSOR_TOKENS (tokens per head sequence, the
 * second-last axis) and SIBYL_PARAM_X_TENSOR_LAYER (elements per layer,
 * the product of all axes but the first) are both set; with
 * SIBYL_PARAM_X_TENSOR_KV = 1, every tensor of 3 or more dimensions in an
 * NPY or safetensors file is one (by default only safetensors tensors
 * whose names say so: "past_key_values.0.key", "k_cache", ...). Only lossy
 * coding uses the structure (a step per layer, anchor-token prediction).
 * Changes the archive bytes, never what they decode to. */
#define SIBYL_PARAM_X_TENSOR_KV ((sibyl_param)1004)
#define SIBYL_PARAM_X_TENSOR_TOKENS ((sibyl_param)1005)
#define SIBYL_PARAM_X_TENSOR_LAYER ((sibyl_param)1006)

/* Raw interleaved PCM audio (no WAV header): the sample format
 * (sibyl_x_sample) and the channels per frame (1..32, default 1). Setting
 * a format other than SIBYL_X_SAMPLE_NONE implies SIBYL_TYPE_AUDIO.
 * Changes the archive bytes, never what they decode to. */
#define SIBYL_PARAM_X_AUDIO_SAMPLE ((sibyl_param)1007)
#define SIBYL_PARAM_X_AUDIO_CHANNELS ((sibyl_param)1008)

/* A raw image (no PNM header): the width in pixels (0 = none; setting it
 * implies SIBYL_TYPE_IMAGE), the rows (0 = as many as the stream holds;
 * bytes after them are coded as bytes), the channels per pixel (1..4,
 * default 1) and the bits per sample (8, or 16 little-endian; default 8).
 * PGM, PPM and PAM files are found from their content without these.
 * Changes the archive bytes, never what they decode to. */
#define SIBYL_PARAM_X_IMAGE_WIDTH ((sibyl_param)1009)
#define SIBYL_PARAM_X_IMAGE_HEIGHT ((sibyl_param)1010)
#define SIBYL_PARAM_X_IMAGE_CHANNELS ((sibyl_param)1011)
#define SIBYL_PARAM_X_IMAGE_DEPTH ((sibyl_param)1012)
typedef enum {
  SIBYL_X_SAMPLE_NONE = 0,
  SIBYL_X_SAMPLE_U8 = 1,
  SIBYL_X_SAMPLE_S8 = 2,
  SIBYL_X_SAMPLE_S16LE = 3,
  SIBYL_X_SAMPLE_S24LE = 4,
  SIBYL_X_SAMPLE_S32LE = 5,
  SIBYL_X_SAMPLE_F32LE = 6
} sibyl_x_sample;

/* Learned prior for the probabilistic-circuit codec: the bytes of a prior
 * file (`sibyl train`; doc/models/pc.md). The prior is checked and kept by
 * the library (by its hash) for the rest of the process. A compression
 * stream with a prior codes the records of the prior's shape it finds (an
 * IDX or NPY uint8 collection, a PGM, else the whole input as records)
 * from it; the archive records the prior's hash. A decompression stream
 * needs the same prior: without it, or with another one, decoding fails
 * with SIBYL_ERROR_BAD_PARAMETERS. size 0 clears the compression stream's
 * prior. Between streams only. */
SIBYL_API int sibyl_cstream_set_prior(sibyl_cstream* cs, const void* prior, size_t size);
/* With a prior, 1 = the collection regime: the prior's prediction is mixed
 * with adaptive context models that learn across the records of a block
 * (smaller; a record is then decoded with the records before it in its
 * block). 0 (default) = every record coded from the prior alone. */
#define SIBYL_PARAM_X_PC_ADAPT ((sibyl_param)1013)

/* 1 = the input is the pixels of a PNG file in the PNG pixel layout
 * (doc/format.md section 16), which the caller made: every frame is marked
 * so (frame flag 1), and `sibyl -d` writes a PNG with those pixels from
 * such an archive. The library codes and decodes the bytes as any others. */
#define SIBYL_PARAM_X_PNG_PIXELS ((sibyl_param)1014)
SIBYL_API int sibyl_dstream_set_prior(sibyl_dstream* ds, const void* prior, size_t size);

/* Lossy coding of float tensors (f32, f16, bf16, f64; other data stays
 * lossless) within an error bound: every decoded value is within `bound` of
 * the original (mode 1, absolute) or within `bound` times the largest
 * magnitude of its tensor's part in the block (mode 2, relative); values the
 * bound cannot be met for (NaN, infinities, too fine a bound) are kept
 * exactly. Mode 0 turns it off. Before a stream starts, like a parameter.
 * The archive then decodes to the approximated data, and its checksums are
 * of that. */
SIBYL_API int sibyl_cstream_set_error_bound(sibyl_cstream* cs, int mode, double bound);

/* Lossy coding of float tensors by residual vector quantisation (no error
 * bound): each tensor's part in a block is cut into vectors of `dim`
 * consecutive values (aligned to its rows when their length is a multiple
 * of dim), k-means learns `stages` codebooks of `codebook` centres, each on
 * what the stages before left, and every vector is coded as its stage
 * indices and decoded as the sum of the chosen centres. Tensors with fewer
 * than 8 x codebook vectors, or with non-finite values, stay lossless.
 * dim 1..64, stages 1..4, codebook 2..1024, dim x stages x codebook at most
 * 65536; dim 0 turns it off. Replaces an error bound (and the other way
 * round). The error made is reported by sibyl_cstream_lossy_error(). */
SIBYL_API int sibyl_cstream_set_vq(sibyl_cstream* cs, int dim, int stages, int codebook);

/* The error lossy coding made in the current stream (or the last one that
 * ended): float elements coded lossily, the largest absolute error, the
 * root-mean-square error and the root-mean-square of the original values
 * over those elements (all 0 when nothing was approximated). Any pointer
 * may be NULL. */
SIBYL_API int sibyl_cstream_lossy_error(const sibyl_cstream* cs, uint64_t* elements, double* max_abs, double* rms,
                                        double* signal_rms);

/* Memory one worker thread needs at a level (model and block buffers). */
SIBYL_API uint64_t sibyl_level_memory(int level);

#endif /* SIBYL_EXPERIMENTAL */

#ifdef __cplusplus
}
#endif

#endif /* SIBYL_SIBYL_H */
