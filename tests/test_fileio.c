/* test_fileio.c - fileio.h: mappings that survive their file shrinking, FIFO
 * inputs refused without waiting, output checks (same file as an input
 * through hard and symbolic links, extension, directory), atomic writes that
 * keep symbolic links, devices, FIFOs and permission bits, standard output
 * and a reader that went away, and temporary files removed on signals. */
#define _DEFAULT_SOURCE 1

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpoint.h"
#include "fileio.h"
#include "safetensors.h"
#include "testutil.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sq_fileio.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* dir/name in buf. */
static const char *at(char *buf, const char *name)
{
    snprintf(buf, 256, "%s/%s", dir, name);
    return buf;
}

static void put(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* The contents of path as a string (at most 255 bytes). */
static const char *slurp(const char *path, char *buf)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, 255, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Entries of dir whose name contains ".tmp.". */
static int temp_files(void)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

/* Write text to path with sq_afile_open_flags; its status. */
static sq_status afile_put(const char *path, unsigned flags, const char *text, sq_error *err)
{
    sq_afile *f;
    sq_status st = sq_afile_open_flags(path, flags, &f, err);
    if (st != SQ_OK)
        return st;
    if ((st = sq_afile_write(f, text, strlen(text), err)) != SQ_OK) {
        sq_afile_abort(f);
        return st;
    }
    return sq_afile_commit(f, err);
}

/* ---- mappings ----------------------------------------------------------------- */

START_TEST(map_truncated_read_gives_error)
{
    char p[256];
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 3 * page;
    unsigned char *data = malloc(n), *got = malloc(page);
    memset(data, 0x11, n);
    put(at(p, "m.bin"), data, n);
    sq_mapped m;
    sq_error err;
    ck_assert_int_eq(sq_map_file(p, &m, &err), SQ_OK);
    ck_assert_int_eq(sq_mapped_check(&m, &err), SQ_OK);
    ck_assert_int_eq(truncate(p, (off_t)page), 0);
    size_t before = sq_mapped_faults();
    ck_assert_int_eq(sq_mapped_read(&m, 0, got, page, &err), SQ_OK);
    ck_assert_int_eq(got[0], 0x11);
    ck_assert_int_eq(got[page - 1], 0x11);
    /* page 2 now lies past the end of the file: SIGBUS without the handler */
    memset(got, 0x55, page);
    ck_assert_int_eq(sq_mapped_read(&m, 2 * page, got, page, &err), SQ_ERR_IO);
    ck_assert_int_eq(got[0], 0);
    ck_assert_int_eq(got[page - 1], 0);
    ck_assert_uint_eq(sq_mapped_faults(), before + 1);
    ck_assert_ptr_nonnull(strstr(err.msg, p));
    ck_assert_ptr_nonnull(strstr(err.msg, "shrank"));
    ck_assert_int_eq(sq_mapped_check(&m, &err), SQ_ERR_IO);
    ck_assert_int_eq(sq_mapped_read(&m, 2 * page, got, page + 1, &err), SQ_ERR_ARG);
    sq_unmap_file(&m);
    ck_assert_ptr_null(m.data);
    /* a fresh mapping starts clean */
    ck_assert_int_eq(sq_map_file(p, &m, &err), SQ_OK);
    ck_assert_int_eq(sq_mapped_check(&m, &err), SQ_OK);
    sq_unmap_file(&m);
    free(data);
    free(got);
}
END_TEST

/* A safetensors file with one F32 tensor of rows x 1024 values 1.0. */
static void make_st(const char *path, size_t rows)
{
    char hdr[160];
    size_t nbytes = rows * 1024 * 4;
    int hl = snprintf(hdr, sizeof hdr, "{\"w\":{\"dtype\":\"F32\",\"shape\":[%zu,1024],\"data_offsets\":[0,%zu]}}",
                      rows, nbytes);
    while (hl % 8)
        hdr[hl++] = ' ';
    size_t total = 8 + (size_t)hl + nbytes;
    unsigned char *b = calloc(1, total);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, hdr, (size_t)hl);
    float one = 1.0f;
    for (size_t i = 0; i < rows * 1024; i++)
        memcpy(b + 8 + hl + 4 * i, &one, 4);
    put(path, b, total);
    free(b);
}

START_TEST(st_load_after_truncation_does_not_crash)
{
    char p[256];
    make_st(at(p, "w.safetensors"), 16); /* 64 KiB of data */
    sq_safetensors *f;
    sq_error err;
    ck_assert_int_eq(sq_st_open(p, &f, &err), SQ_OK);
    ck_assert_int_eq(truncate(p, 4096), 0);
    size_t before = sq_mapped_faults();
    sq_tensor *t = NULL;
    sq_status st = sq_st_load(f, 0, &t, &err); /* SIGBUS killed the process here before */
    ck_assert_uint_gt(sq_mapped_faults(), before);
    if (st == SQ_OK) { /* the loader may not check yet: the bytes past the end read as zeros */
        ck_assert_float_eq(t->data[0], 1.0f);
        ck_assert_float_eq(t->data[16 * 1024 - 1], 0.0f);
    }
    sq_tensor_free(t);
    sq_st_close(f);
}
END_TEST

START_TEST(ckpt_load_after_truncation_is_an_error)
{
    char p[256];
    make_st(at(p, "c.safetensors"), 16);
    sq_checkpoint *ck;
    sq_error err;
    ck_assert_int_eq(sq_ckpt_open(p, &ck, &err), SQ_OK);
    ck_assert_int_eq(truncate(p, 4096), 0);
    sq_tensor *t = (sq_tensor *)1;
    ck_assert_int_eq(sq_ckpt_load(ck, 0, &t, &err), SQ_ERR_IO);
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(strstr(err.msg, "c.safetensors: tensor "));
    ck_assert_ptr_nonnull(strstr(err.msg, "the file shrank while it was being read"));
    sq_ckpt_close(ck);
}
END_TEST

START_TEST(sigbus_elsewhere_still_kills)
{
    char p[256], q[256];
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *data = calloc(1, 2 * page);
    put(at(p, "a.bin"), data, 2 * page);
    put(at(q, "b.bin"), data, 2 * page);
    free(data);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        sq_mapped m;
        sq_error err;
        signal(SIGBUS, SIG_DFL); /* what the handler passes foreign faults to (a sanitizer may have its own) */
        if (sq_map_file(p, &m, &err) != SQ_OK) /* installs the handler */
            _exit(3);
        int fd = open(q, O_RDONLY);
        volatile const unsigned char *raw = mmap(NULL, 2 * page, PROT_READ, MAP_PRIVATE, fd, 0);
        if (raw == MAP_FAILED || truncate(q, 0) != 0)
            _exit(4);
        unsigned char c = raw[page]; /* not squint's mapping: the default action */
        _exit(c == 0 ? 5 : 6);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS, "status %d", status);
}
END_TEST

START_TEST(fifo_input_refused_without_waiting)
{
    char p[256];
    ck_assert_int_eq(mkfifo(at(p, "in.safetensors"), 0600), 0);
    alarm(10); /* a hang fails the test instead of blocking the suite */
    sq_mapped m;
    sq_error err;
    ck_assert_int_eq(sq_map_file(p, &m, &err), SQ_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a regular file (a FIFO)"));
    ck_assert_int_eq(sq_input_check(p, &err), SQ_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, p));
    ck_assert_ptr_nonnull(strstr(err.msg, "a FIFO"));
    ck_assert_int_eq(sq_input_check(at(p, "missing"), &err), SQ_OK); /* the opener reports that */
    alarm(0);
}
END_TEST

/* ---- output checks ---------------------------------------------------------- */

START_TEST(output_same_as_input_refused)
{
    char in[256], hl[256], sl[256], sl2[256];
    put(at(in, "m.safetensors"), "x", 1);
    ck_assert_int_eq(link(in, at(hl, "hard.safetensors")), 0);
    ck_assert_int_eq(symlink("m.safetensors", at(sl, "soft.safetensors")), 0);
    ck_assert_int_eq(symlink("soft.safetensors", at(sl2, "soft2.safetensors")), 0);
    const char *inputs[2] = {"/nonexistent", in};
    const char *outs[4] = {in, hl, sl, sl2};
    sq_error err;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(sq_output_check(outs[i], inputs, 2, ".safetensors", false, &err), SQ_ERR_ARG);
        ck_assert_ptr_nonnull(strstr(err.msg, outs[i]));
        ck_assert_ptr_nonnull(strstr(err.msg, in));
        ck_assert_ptr_nonnull(strstr(err.msg, "same file"));
    }
    /* the reverse direction: input through a link, output the file */
    const char *via_link[1] = {sl2};
    ck_assert_int_eq(sq_output_check(in, via_link, 1, NULL, false, &err), SQ_ERR_ARG);
    char other[256];
    ck_assert_int_eq(sq_output_check(at(other, "q.safetensors"), inputs, 2, ".safetensors", false, &err), SQ_OK);
    ck_assert_int_eq(sq_output_check(at(other, "Q.SafeTensors"), inputs, 2, ".safetensors", false, &err), SQ_OK);
}
END_TEST

START_TEST(output_extension_and_directory)
{
    char p[256];
    sq_error err;
    ck_assert_int_eq(sq_output_check(at(p, "out.npy"), NULL, 0, ".safetensors", false, &err), SQ_ERR_ARG);
    ck_assert_str_eq(strstr(err.msg, "out.npy"), "out.npy: this output is safetensors; name it .safetensors");
    ck_assert_int_eq(sq_output_check(at(p, "r.txt"), NULL, 0, ".csv", true, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "CSV; name it .csv"));
    ck_assert_int_eq(sq_output_check(at(p, ".json"), NULL, 0, ".json", true, &err), SQ_ERR_ARG);
    ck_assert_int_eq(sq_output_check(at(p, "a.json"), NULL, 0, ".json", true, &err), SQ_OK);
    ck_assert_int_eq(sq_output_check(at(p, "no/such/r.csv"), NULL, 0, ".csv", true, &err), SQ_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "no/such"));
    ck_assert_int_eq(sq_output_check(dir, NULL, 0, NULL, true, &err), SQ_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "a directory"));
    put(at(p, "file"), "x", 1);
    ck_assert_int_eq(sq_output_check(at(p, "file/r.csv"), NULL, 0, ".csv", true, &err), SQ_ERR_IO);
    ck_assert_int_eq(sq_output_check("-", NULL, 0, ".csv", true, &err), SQ_OK);
    ck_assert_int_eq(sq_output_check("-", NULL, 0, ".safetensors", false, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "standard output"));
    /* a FIFO takes any name */
    ck_assert_int_eq(mkfifo(at(p, "pipe"), 0600), 0);
    ck_assert_int_eq(sq_output_check(p, NULL, 0, ".csv", true, &err), SQ_OK);
    /* a directory that is not writable (root may write anywhere) */
    if (geteuid() != 0) {
        char ro[256], out[256];
        ck_assert_int_eq(mkdir(at(ro, "ro"), 0500), 0);
        ck_assert_int_eq(sq_output_check(at(out, "ro/r.csv"), NULL, 0, ".csv", true, &err), SQ_ERR_IO);
    }
}
END_TEST

/* ---- writes ------------------------------------------------------------------ */

START_TEST(write_through_symlink_chain)
{
    char sub[256], target[256], l1[256], l2[256], buf[256];
    ck_assert_int_eq(mkdir(at(sub, "sub"), 0700), 0);
    put(at(target, "sub/real.csv"), "old\n", 4);
    ck_assert_int_eq(symlink("real.csv", at(l1, "sub/link1.csv")), 0);
    ck_assert_int_eq(symlink("sub/link1.csv", at(l2, "link2.csv")), 0);
    sq_error err;
    ck_assert_int_eq(afile_put(l2, 0, "new\n", &err), SQ_OK);
    struct stat sb;
    ck_assert_int_eq(lstat(l2, &sb), 0);
    ck_assert(S_ISLNK(sb.st_mode));
    ck_assert_int_eq(lstat(l1, &sb), 0);
    ck_assert(S_ISLNK(sb.st_mode));
    ck_assert_str_eq(slurp(target, buf), "new\n");
    ck_assert_int_eq(temp_files(), 0);
    /* a dangling link: its target is created, the link stays */
    char dang[256], made[256];
    ck_assert_int_eq(symlink("made.csv", at(dang, "dangling.csv")), 0);
    ck_assert_int_eq(afile_put(dang, 0, "x\n", &err), SQ_OK);
    ck_assert_int_eq(lstat(dang, &sb), 0);
    ck_assert(S_ISLNK(sb.st_mode));
    ck_assert_str_eq(slurp(at(made, "made.csv"), buf), "x\n");
    /* a loop */
    char loop[256];
    ck_assert_int_eq(symlink("loop.csv", at(loop, "loop.csv")), 0);
    ck_assert_int_eq(afile_put(loop, 0, "x\n", &err), SQ_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "symbolic links"));
}
END_TEST

START_TEST(replaced_file_keeps_mode)
{
    char p[256], buf[256];
    put(at(p, "r.csv"), "old\n", 4);
    ck_assert_int_eq(chmod(p, 0600), 0);
    sq_error err;
    ck_assert_int_eq(afile_put(p, 0, "new\n", &err), SQ_OK);
    struct stat sb;
    ck_assert_int_eq(stat(p, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 07777, 0600);
    ck_assert_str_eq(slurp(p, buf), "new\n");
    ck_assert_int_eq(chmod(p, 0640), 0);
    ck_assert_int_eq(sq_write_file_atomic(p, "z", 1, &err), SQ_OK);
    ck_assert_int_eq(stat(p, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 07777, 0640);
    /* a new file: 0666 minus the umask */
    mode_t um = umask(022);
    char q[256];
    ck_assert_int_eq(afile_put(at(q, "new.csv"), 0, "n", &err), SQ_OK);
    ck_assert_int_eq(stat(q, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 07777, 0644);
    umask(um);
}
END_TEST

START_TEST(fifo_target_stays_fifo)
{
    char p[256];
    ck_assert_int_eq(mkfifo(at(p, "out.csv"), 0600), 0);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) { /* the reader: copies what arrives to the pipe */
        close(fds[0]);
        int fd = open(p, O_RDONLY);
        char b[64];
        ssize_t n = fd >= 0 ? read(fd, b, sizeof b) : -1;
        _exit(n > 0 && write(fds[1], b, (size_t)n) == n ? 0 : 1);
    }
    close(fds[1]);
    alarm(10);
    sq_error err;
    ck_assert_int_eq(afile_put(p, 0, "hello\n", &err), SQ_OK);
    char b[64] = {0};
    ck_assert_int_eq(read(fds[0], b, sizeof b - 1), 6);
    ck_assert_str_eq(b, "hello\n");
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    alarm(0);
    struct stat sb;
    ck_assert_int_eq(lstat(p, &sb), 0);
    ck_assert(S_ISFIFO(sb.st_mode));
    ck_assert_int_eq(temp_files(), 0);
}
END_TEST

START_TEST(char_device_target_stays_device)
{
    char p[256];
    if (mknod(at(p, "null"), S_IFCHR | 0666, makedev(1, 3)) != 0) {
        fprintf(stderr, "skipped: mknod: %s (needs root)\n", strerror(errno));
        return;
    }
    sq_error err;
    ck_assert_int_eq(afile_put(p, 0, "gone\n", &err), SQ_OK);
    ck_assert_int_eq(sq_write_file_atomic(p, "x", 1, &err), SQ_OK);
    struct stat sb;
    ck_assert_int_eq(lstat(p, &sb), 0);
    ck_assert(S_ISCHR(sb.st_mode));
    ck_assert_uint_eq(major(sb.st_rdev), 1);
    ck_assert_uint_eq(minor(sb.st_rdev), 3);
    /* a copy of /dev/full: the error is reported, the device stays */
    char full[256];
    ck_assert_int_eq(mknod(at(full, "full"), S_IFCHR | 0666, makedev(1, 7)), 0);
    ck_assert_int_eq(afile_put(full, 0, "x", &err), SQ_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "No space left on device"));
    ck_assert_int_eq(lstat(full, &sb), 0);
    ck_assert(S_ISCHR(sb.st_mode));
    ck_assert_int_eq(temp_files(), 0);
}
END_TEST

START_TEST(large_and_small_writes_keep_order)
{
    char p[256];
    size_t n = 300000;
    unsigned char *a = malloc(n), *b = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        a[i] = (unsigned char)(i * 7 + i / 251);
    sq_afile *f;
    sq_error err;
    ck_assert_int_eq(sq_afile_open(at(p, "big.bin"), &f, &err), SQ_OK);
    size_t parts[] = {10, 100000, 70000, 3, 65536, 64451};   /* sums to n */
    size_t off = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        ck_assert_int_eq(sq_afile_write(f, a + off, parts[i], &err), SQ_OK);
        off += parts[i];
    }
    ck_assert_uint_eq(off, n);
    ck_assert_int_eq(sq_afile_commit(f, &err), SQ_OK);
    FILE *in = fopen(p, "rb");
    ck_assert_ptr_nonnull(in);
    ck_assert_uint_eq(fread(b, 1, n + 1, in), n);
    fclose(in);
    ck_assert_int_eq(memcmp(a, b, n), 0);
    free(a);
    free(b);
}
END_TEST

START_TEST(directory_target_refused)
{
    char p[256];
    ck_assert_int_eq(mkdir(at(p, "d.csv"), 0700), 0);
    sq_error err;
    ck_assert_int_eq(afile_put(p, 0, "x", &err), SQ_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "a directory"));
    ck_assert_int_eq(afile_put(at(p, "none/x.csv"), 0, "x", &err), SQ_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "none/x.csv"));
}
END_TEST

/* Point fd 1 at fd (flushing stdout first); returns the saved fd 1. */
static int redirect_stdout(int fd)
{
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_eq(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
    return saved;
}

static void restore_stdout(int saved)
{
    ck_assert_int_eq(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
    close(saved);
}

START_TEST(dash_is_stdout_only_when_asked)
{
    char p[256], buf[256];
    int fd = open(at(p, "captured"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    int saved = redirect_stdout(fd);
    sq_error err;
    sq_status st = afile_put("-", SQ_AFILE_DASH_STDOUT, "to stdout\n", &err);
    restore_stdout(saved);
    close(fd);
    ck_assert_int_eq(st, SQ_OK);
    ck_assert_str_eq(slurp(p, buf), "to stdout\n");
    /* without the flag, "-" is a file of that name */
    char cwd[512];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    ck_assert_int_eq(afile_put("-", 0, "file\n", &err), SQ_OK);
    ck_assert_str_eq(slurp("-", buf), "file\n");
    ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

START_TEST(closed_pipe_is_an_error_not_a_signal)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    close(fds[0]); /* no reader: a write raises SIGPIPE, whose default action kills */
    int saved = redirect_stdout(fds[1]);
    sq_error err;
    sq_status st = afile_put("-", SQ_AFILE_DASH_STDOUT, "lost\n", &err);
    restore_stdout(saved);
    close(fds[1]);
    ck_assert_int_eq(st, SQ_ERR_IO);
    ck_assert_str_eq(err.msg, "standard output: write failed: Broken pipe");
    sigset_t pend;
    ck_assert_int_eq(sigpending(&pend), 0);
    ck_assert_int_eq(sigismember(&pend, SIGPIPE), 0); /* consumed, not left pending */
}
END_TEST

START_TEST(abort_removes_temp_and_restores_handlers)
{
    char p[256], buf[256];
    put(at(p, "t.csv"), "old\n", 4);
    struct sigaction before, during, after;
    ck_assert_int_eq(sigaction(SIGTERM, NULL, &before), 0);
    sq_afile *f;
    sq_error err;
    ck_assert_int_eq(sq_afile_open(p, &f, &err), SQ_OK);
    ck_assert_int_eq(temp_files(), 1);
    ck_assert_int_eq(sigaction(SIGTERM, NULL, &during), 0);
    ck_assert(during.sa_flags & SA_SIGINFO); /* fileio's handler while the temporary file exists */
    ck_assert_int_eq(sq_afile_write(f, "partial", 7, &err), SQ_OK);
    sq_afile_abort(f);
    ck_assert_int_eq(temp_files(), 0);
    ck_assert_str_eq(slurp(p, buf), "old\n");
    ck_assert_int_eq(sigaction(SIGTERM, NULL, &after), 0);
    ck_assert_ptr_eq((void *)after.sa_handler, (void *)before.sa_handler);
}
END_TEST

static volatile sig_atomic_t got_term;
static void on_term_flag(int sig)
{
    (void)sig;
    got_term = 1;
}

START_TEST(signal_with_handler_removes_temp_and_fails_write)
{
    char p[256], buf[256];
    put(at(p, "t.csv"), "old\n", 4);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term_flag;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGTERM, &sa, &old), 0);
    got_term = 0;
    sq_afile *f;
    sq_error err;
    ck_assert_int_eq(sq_afile_open(p, &f, &err), SQ_OK);
    ck_assert_int_eq(sq_afile_write(f, "new\n", 4, &err), SQ_OK);
    raise(SIGTERM);
    ck_assert_int_eq(got_term, 1); /* the program's own handler still ran */
    ck_assert_int_eq(temp_files(), 0);
    ck_assert_int_eq(sq_afile_commit(f, &err), SQ_ERR_INTERRUPTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "left unchanged"));
    ck_assert_str_eq(slurp(p, buf), "old\n");
    struct sigaction now;
    ck_assert_int_eq(sigaction(SIGTERM, &old, &now), 0);
    ck_assert_ptr_eq((void *)now.sa_handler, (void *)on_term_flag);
}
END_TEST

START_TEST(ignored_signal_changes_nothing)
{
    char p[256], buf[256];
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGHUP, &sa, &old), 0);
    sq_afile *f;
    sq_error err;
    ck_assert_int_eq(sq_afile_open(at(p, "h.csv"), &f, &err), SQ_OK);
    ck_assert_int_eq(sq_afile_write(f, "kept\n", 5, &err), SQ_OK);
    raise(SIGHUP);
    ck_assert_int_eq(sq_afile_commit(f, &err), SQ_OK);
    ck_assert_str_eq(slurp(p, buf), "kept\n");
    sigaction(SIGHUP, &old, NULL);
}
END_TEST

START_TEST(default_signal_removes_temp_then_kills)
{
    static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        char p[256], buf[256];
        put(at(p, "t.csv"), "old\n", 4);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            signal(sigs[i], SIG_DFL);
            sq_afile *f;
            sq_error err;
            if (sq_afile_open(p, &f, &err) != SQ_OK || sq_afile_write(f, "new\n", 4, &err) != SQ_OK)
                _exit(3);
            raise(sigs[i]);
            _exit(4); /* not reached */
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == sigs[i], "signal %d: status %d", sigs[i], status);
        ck_assert_int_eq(temp_files(), 0);
        ck_assert_str_eq(slurp(p, buf), "old\n");
    }
}
END_TEST

static Suite *fileio_suite(void)
{
    Suite *s = suite_create("fileio");
    TCase *tc = tcase_create("fileio");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, map_truncated_read_gives_error);
    tcase_add_test(tc, st_load_after_truncation_does_not_crash);
    tcase_add_test(tc, ckpt_load_after_truncation_is_an_error);
    tcase_add_test(tc, sigbus_elsewhere_still_kills);
    tcase_add_test(tc, fifo_input_refused_without_waiting);
    tcase_add_test(tc, output_same_as_input_refused);
    tcase_add_test(tc, output_extension_and_directory);
    tcase_add_test(tc, write_through_symlink_chain);
    tcase_add_test(tc, replaced_file_keeps_mode);
    tcase_add_test(tc, fifo_target_stays_fifo);
    tcase_add_test(tc, char_device_target_stays_device);
    tcase_add_test(tc, large_and_small_writes_keep_order);
    tcase_add_test(tc, directory_target_refused);
    tcase_add_test(tc, dash_is_stdout_only_when_asked);
    tcase_add_test(tc, closed_pipe_is_an_error_not_a_signal);
    tcase_add_test(tc, abort_removes_temp_and_restores_handlers);
    tcase_add_test(tc, signal_with_handler_removes_temp_and_fails_write);
    tcase_add_test(tc, ignored_signal_changes_nothing);
    tcase_add_test(tc, default_signal_removes_temp_then_kills);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(fileio_suite)
