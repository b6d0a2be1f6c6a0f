/*
 * Maps the first bytes of a SQLite WAL-index (`-shm`) file read-only into the process, so the
 * store can see whether another connection committed (the wal-index header changed) without a
 * system call per query. SQLite maps the same file MAP_SHARED itself; this mapping sees the same
 * pages. The store maps only after its own connection has opened the file (it then holds the
 * shared lock that stops another process truncating it) and stops reading when it closes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <fcntl.h>
#include <node_api.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAP_BYTES 4096

static void unmap(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

static napi_value fail(napi_env env, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(errno));
  napi_throw_error(env, "SHM_MAP_FAILED", message);
  return NULL;
}

/* mapShm(path: string, bytes: number): ArrayBuffer — the file's first `bytes` (≤ 4096), read-only. */
static napi_value map_shm(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[4096];
  size_t len = 0;
  int64_t want = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok ||
      len >= sizeof path - 1 || napi_get_value_int64(env, argv[1], &want) != napi_ok ||
      want <= 0 || want > MAP_BYTES) {
    napi_throw_type_error(env, NULL, "mapShm(path: string, bytes: 1..4096)");
    return NULL;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(env, "open");
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return fail(env, "fstat");
  }
  if (st.st_size < want) {
    close(fd);
    napi_throw_error(env, "SHM_MAP_FAILED", "file shorter than the bytes asked for");
    return NULL;
  }
  void *at = mmap(NULL, (size_t)want, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (at == MAP_FAILED) return fail(env, "mmap");
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, at, (size_t)want, unmap, (void *)(uintptr_t)want,
                                       &buffer) != napi_ok) {
    munmap(at, (size_t)want);
    napi_throw_error(env, "SHM_MAP_FAILED", "external ArrayBuffer refused");
    return NULL;
  }
  return buffer;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "mapShm", NAPI_AUTO_LENGTH, map_shm, NULL, &fn);
  napi_set_named_property(env, exports, "mapShm", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
