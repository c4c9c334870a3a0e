/* sniff.c - recognise a file's format by its first bytes. */
#include "sniff.h"

#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNIFF_BYTES 16384

/* Whether the len bytes at buf read as text: no NUL and no control
 * character other than whitespace, backspace and escape. */
static bool is_text(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        if ((c < 0x20 && !(c >= 0x08 && c <= 0x0d) && c != 0x1b) || c == 0x7f)
            return false;
    }
    return true;
}

/* Whether the text opens a JSON object (after whitespace and a UTF-8 BOM). */
static bool json_object_text(const uint8_t *buf, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
        i++;
    return i < len && buf[i] == '{';
}

/* Whether needle occurs in the len bytes at buf. */
static bool contains(const uint8_t *buf, size_t len, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= len; i++)
        if (memcmp(buf + i, needle, k) == 0)
            return true;
    return false;
}

/* Little-endian u32 at p. */
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* GGUF with a version word: byte-swapped small versions mark big-endian. */
static sq_file_kind gguf_kind(const uint8_t *buf, size_t len)
{
    if (len < 8)
        return SQ_FILE_GGUF;
    uint32_t v = le32(buf + 4);
    uint32_t sw = (v >> 24) | (v >> 8 & 0xFF00u) | (v << 8 & 0xFF0000u) | (v << 24);
    return v > 0xFFFFu && sw >= 1 && sw <= 0xFFFFu ? SQ_FILE_GGUF_BE : SQ_FILE_GGUF;
}

sq_file_kind sq_sniff_bytes(const uint8_t *buf, size_t len)
{
    if (len == 0)
        return SQ_FILE_EMPTY;
    if (len >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0)
        return SQ_FILE_NPY;
    if (len >= 4 && (memcmp(buf, "PK\x03\x04", 4) == 0 || memcmp(buf, "PK\x05\x06", 4) == 0))
        return SQ_FILE_ZIP;
    if (len >= 4 && memcmp(buf, "GGUF", 4) == 0)
        return gguf_kind(buf, len);
    bool text = is_text(buf, len);
    if (!text && len >= 9 && buf[8] == '{')
        return SQ_FILE_SAFETENSORS;
    if (!text)
        return SQ_FILE_UNKNOWN;
    if (json_object_text(buf, len) && contains(buf, len, "\"weight_map\""))
        return SQ_FILE_SHARD_INDEX;
    return SQ_FILE_TEXT;
}

/* Whether name ends with suffix. */
static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n >= k && strcmp(name + n - k, suffix) == 0;
}

sq_status sq_sniff_file(const char *path, sq_file_kind *kind, sq_error *err)
{
    uint8_t buf[SNIFF_BYTES];
    struct stat sb;
    *kind = SQ_FILE_UNKNOWN;
    /* O_NONBLOCK: a FIFO is refused below instead of waiting for a writer */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return sq_fail(err, SQ_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        close(fd);
        *kind = SQ_FILE_DIRECTORY;
        return SQ_OK;
    }
    if (fstat(fd, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        close(fd);
        return sq_input_check(path, err); /* "PATH: not a regular file (a FIFO)" */
    }
    size_t len = 0;
    while (len < sizeof buf) {
        ssize_t r = read(fd, buf + len, sizeof buf - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return sq_fail(err, SQ_ERR_IO, "%s: cannot read: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    *kind = sq_sniff_bytes(buf, len);
    if (*kind == SQ_FILE_TEXT && has_suffix(path, ".index.json") && json_object_text(buf, len))
        *kind = SQ_FILE_SHARD_INDEX;
    return SQ_OK;
}

const char *sq_file_kind_name(sq_file_kind kind)
{
    switch (kind) {
    case SQ_FILE_EMPTY: return "an empty file";
    case SQ_FILE_NPY: return "a .npy array";
    case SQ_FILE_ZIP: return "a zip archive";
    case SQ_FILE_SAFETENSORS: return "a safetensors file";
    case SQ_FILE_GGUF: return "a GGUF file";
    case SQ_FILE_GGUF_BE: return "a big-endian GGUF file";
    case SQ_FILE_SHARD_INDEX: return "a sharded checkpoint's index";
    case SQ_FILE_TEXT: return "a text file";
    case SQ_FILE_DIRECTORY: return "a directory";
    case SQ_FILE_UNKNOWN: break;
    }
    return "a file of unknown format";
}

/* The refusal for a file whose content contradicts its extension, if any. */
static sq_status refuse_by_name(const char *path, sq_file_kind kind, sq_error *err)
{
    const char *what = kind == SQ_FILE_TEXT ? " (the file is text)" : "";
    if (has_suffix(path, ".npy"))
        return sq_fail(err, SQ_ERR_FORMAT, "%s: not a .npy file: no \\x93NUMPY magic%s", path, what);
    if (has_suffix(path, ".gguf"))
        return sq_fail(err, SQ_ERR_FORMAT, "%s: not a GGUF file: no GGUF magic%s", path, what);
    if (has_suffix(path, ".safetensors"))
        return sq_fail(err, SQ_ERR_FORMAT, "%s: not a safetensors file: no header length followed by '{'%s", path,
                       what);
    return SQ_OK;
}

sq_status sq_sniff_refuse(const char *path, sq_file_kind kind, sq_file_want want, sq_error *err)
{
    sq_status st;
    switch (kind) {
    case SQ_FILE_NPY:
        return sq_fail(err, SQ_ERR_UNSUPPORTED, "%s: a checkpoint (safetensors or GGUF) is needed; this is a .npy "
                       "array: use info or --view (sq.load in Lua)", path);
    case SQ_FILE_ZIP:
        if (has_suffix(path, ".npz"))
            return sq_fail(err, SQ_ERR_UNSUPPORTED, "%s: .npz archives are not read: unzip them (each member is a "
                           ".npy file)", path);
        return sq_fail(err, SQ_ERR_UNSUPPORTED, "%s: this is a zip archive (an .npz, or a PyTorch .bin/.pt), which "
                       "squint does not read: unzip an .npz, convert a PyTorch file to safetensors", path);
    case SQ_FILE_GGUF_BE:
        return sq_fail(err, SQ_ERR_UNSUPPORTED, "%s: big-endian GGUF is not supported", path);
    case SQ_FILE_EMPTY:
        return sq_fail(err, SQ_ERR_FORMAT, "%s: the file is empty", path);
    case SQ_FILE_DIRECTORY:
        return sq_fail(err, SQ_ERR_ARG, "%s: is a directory%s", path,
                       want == SQ_WANT_CHECKPOINT ? " without a *.safetensors.index.json or a single *.safetensors" : "");
    default:
        break;
    }
    if ((st = refuse_by_name(path, kind, err)) != SQ_OK)
        return st;
    if (kind == SQ_FILE_TEXT)
        return sq_fail(err, SQ_ERR_FORMAT, "%s: this is a text file, not %s", path,
                       want == SQ_WANT_CHECKPOINT ? "a checkpoint (safetensors, GGUF or a sharded *.index.json)"
                                                  : "a tensor file (.npy, safetensors or GGUF)");
    return sq_fail(err, SQ_ERR_FORMAT, "%s: unrecognised format: not %s (no known magic bytes)", path,
                   want == SQ_WANT_CHECKPOINT ? "safetensors, GGUF or a sharded *.index.json"
                                              : ".npy, safetensors or GGUF");
}
