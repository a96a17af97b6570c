/* Compresses or decompresses a file through libsibyl's streaming C API.
 *
 *   sibyl_stream_c -c IN OUT [LEVEL]    compress IN into OUT
 *   sibyl_stream_c -d IN OUT            decompress IN into OUT
 *
 * Memory stays flat for any file size: 64 KiB buffers here, and the
 * library holds at most a batch of blocks.
 */
#include <sibyl/sibyl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kChunk = 1 << 16 };

static int die(const char* what, const char* detail) {
  fprintf(stderr, "sibyl_stream_c: %s: %s\n", what, detail);
  return 1;
}

static int write_out(FILE* out, const unsigned char* buf, size_t n) { return n == 0 || fwrite(buf, 1, n, out) == n; }

static int compress_file(FILE* in, FILE* out, int level) {
  static unsigned char ibuf[kChunk], obuf[kChunk];
  sibyl_cstream* cs = sibyl_cstream_create();
  if (cs == NULL) return die("compress", "out of memory");
  int rc = sibyl_cstream_set_param(cs, SIBYL_PARAM_LEVEL, level);
  if (rc != SIBYL_OK) {
    fprintf(stderr, "sibyl_stream_c: level: %s\n", sibyl_cstream_message(cs));
    sibyl_cstream_free(cs);
    return 1;
  }
  for (;;) {
    const size_t got = fread(ibuf, 1, sizeof ibuf, in);
    if (ferror(in)) {
      sibyl_cstream_free(cs);
      return die("read", "input error");
    }
    const int last = feof(in);
    sibyl_in_buffer ib = {ibuf, got, 0};
    size_t remaining = 0;
    do {
      sibyl_out_buffer ob = {obuf, sizeof obuf, 0};
      rc = sibyl_compress_stream(cs, &ob, &ib, last ? SIBYL_END : SIBYL_CONTINUE, &remaining);
      if (rc != SIBYL_OK) {
        fprintf(stderr, "sibyl_stream_c: compress: %s: %s\n", sibyl_error_name(rc), sibyl_cstream_message(cs));
        sibyl_cstream_free(cs);
        return 1;
      }
      if (!write_out(out, obuf, ob.pos)) {
        sibyl_cstream_free(cs);
        return die("write", "output error");
      }
    } while (ib.pos < ib.size || remaining != 0);
    if (last) break;
  }
  sibyl_cstream_free(cs);
  return 0;
}

static int decompress_file(FILE* in, FILE* out) {
  static unsigned char ibuf[kChunk], obuf[kChunk];
  sibyl_dstream* ds = sibyl_dstream_create();
  if (ds == NULL) return die("decompress", "out of memory");
  int rc = SIBYL_OK;
  for (;;) {
    const size_t got = fread(ibuf, 1, sizeof ibuf, in);
    if (ferror(in)) {
      sibyl_dstream_free(ds);
      return die("read", "input error");
    }
    sibyl_in_buffer ib = {ibuf, got, 0};
    for (;;) {
      sibyl_out_buffer ob = {obuf, sizeof obuf, 0};
      rc = sibyl_decompress_stream(ds, &ob, &ib, NULL);
      if (rc != SIBYL_OK) break;
      if (!write_out(out, obuf, ob.pos)) {
        sibyl_dstream_free(ds);
        return die("write", "output error");
      }
      if (ib.pos == ib.size && ob.pos < ob.size) break; /* input used, output drained */
    }
    if (rc != SIBYL_OK || got == 0) break;
  }
  if (rc == SIBYL_OK) rc = sibyl_decompress_stream_end(ds);
  if (rc != SIBYL_OK) fprintf(stderr, "sibyl_stream_c: decompress: %s: %s\n", sibyl_error_name(rc), sibyl_dstream_message(ds));
  sibyl_dstream_free(ds);
  return rc == SIBYL_OK ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc < 4 || (strcmp(argv[1], "-c") != 0 && strcmp(argv[1], "-d") != 0)) {
    fprintf(stderr, "usage: %s -c|-d IN OUT [LEVEL]   (libsibyl %s)\n", argv[0], sibyl_version_string());
    return 2;
  }
  if (sibyl_version_number() / 100 != SIBYL_VERSION_NUMBER / 100) return die("libsibyl", "library version differs from the header");
  FILE* in = fopen(argv[2], "rb");
  if (in == NULL) return die(argv[2], "cannot open");
  FILE* out = fopen(argv[3], "wb");
  if (out == NULL) {
    fclose(in);
    return die(argv[3], "cannot create");
  }
  const int level = argc > 4 ? atoi(argv[4]) : SIBYL_LEVEL_DEFAULT;
  int rc = argv[1][1] == 'c' ? compress_file(in, out, level) : decompress_file(in, out);
  fclose(in);
  if (fclose(out) != 0 && rc == 0) rc = die(argv[3], "cannot write");
  if (rc != 0) remove(argv[3]);
  return rc;
}
