/*
 * dtar's FUSE binding: libfuse 3's low-level API served on Node's own event loop.
 *
 * The session's /dev/fuse descriptor is watched with a uv_poll handle on the main loop;
 * when it is readable, requests are read (non-blocking) and dispatched to JavaScript in
 * place, on the main thread: no second thread, no hand-off, no semaphore. JavaScript
 * answers through the reply functions, then or later (a read waiting on the store).
 * Requests the archive never needs JavaScript for are answered here: OPEN and OPENDIR
 * with ENOSYS (with the kernel's no-open support that means "stop asking"), FORGET.
 *
 * Data crosses without allocations: attributes go through a Float64Array that JavaScript
 * fills (STAT_FIELDS doubles a record), names through two Buffers (incoming names,
 * outgoing directory entries, each name NUL-terminated), file data through the Buffer
 * JavaScript reads into. A request is passed to JavaScript as its address, a number
 * (user-space addresses fit in 47 bits), and must be answered exactly once; the
 * JavaScript side (binding.ts) guarantees that. See native-notes/fuse.md.
 */
#define FUSE_USE_VERSION 34
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

/* One attribute record: ino, mode, nlink, uid, gid, rdev, size, blocks, mtime s, mtime ns,
 * then for directory entries: offset of the next entry, name offset in the names buffer,
 * and 1 where the entry is listed without being looked up (the kernel sends a LOOKUP when
 * it is used: how the whole-store mount leaves archives unloaded until they are entered). */
#define STAT_FIELDS 13
/* Requests handled per wake-up, so that a busy mount cannot starve the rest of the loop. */
#define BATCH 64

enum op { OP_LOOKUP, OP_GETATTR, OP_READLINK, OP_READ, OP_READDIRPLUS, OP_GETXATTR, OP_LISTXATTR, OP_STATFS, OP_COUNT };
static const char *const OP_NAMES[OP_COUNT] = {"lookup", "getattr", "readlink", "read", "readdirplus", "getxattr", "listxattr", "statfs"};

typedef struct {
  napi_env env;
  struct fuse_session *se;
  uv_poll_t poll;
  struct fuse_buf buf;
  napi_ref handlers[OP_COUNT];
  napi_ref on_exit;
  napi_ref resource;
  napi_async_context async;
  /* Scratch shared with JavaScript, kept alive by references. */
  napi_ref stats_ref, in_ref, out_ref;
  double *stats;
  size_t stats_count;
  char *in_name;
  size_t in_len;
  char *out_names;
  size_t out_len;
  char *dirbuf;
  size_t dirbuf_len;
  double timeout;
  unsigned max_background, congestion;
  int closed;
} session_t;

/* ---- calling JavaScript ---- */

static void call_js(session_t *s, enum op op, size_t argc, const double *args) {
  napi_env env = s->env;
  napi_value fn, argv[5], undefined, result;
  if (!s->handlers[op] || napi_get_reference_value(env, s->handlers[op], &fn) != napi_ok) return;
  for (size_t i = 0; i < argc; i++) napi_create_double(env, args[i], &argv[i]);
  napi_get_undefined(env, &undefined);
  if (napi_call_function(env, undefined, fn, argc, argv, &result) == napi_pending_exception) {
    /* The JavaScript side catches everything; if that failed, fail like any uncaught exception. */
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
}

static double req_id(fuse_req_t req) { return (double)(uintptr_t)req; }

static session_t *of(fuse_req_t req) { return (session_t *)fuse_req_userdata(req); }

/* ---- low-level operations ---- */

static void op_init(void *userdata, struct fuse_conn_info *conn) {
  session_t *s = userdata;
  /* Names and attributes in one reply; never fall back to plain READDIR. */
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  /* Many reads wait on the store at once. */
  conn->max_background = s->max_background;
  conn->congestion_threshold = s->congestion;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  session_t *s = of(req);
  size_t n = strlen(name);
  if (n >= s->in_len) {
    fuse_reply_err(req, ENAMETOOLONG);
    return;
  }
  memcpy(s->in_name, name, n + 1);
  double a[3] = {req_id(req), (double)parent, (double)n};
  call_js(s, OP_LOOKUP, 3, a);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  (void)ino;
  (void)nlookup;
  fuse_reply_none(req); /* inodes are the archive's own and never go away */
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
  (void)count;
  (void)forgets;
  fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)fi;
  double a[2] = {req_id(req), (double)ino};
  call_js(of(req), OP_GETATTR, 2, a);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  double a[2] = {req_id(req), (double)ino};
  call_js(of(req), OP_READLINK, 2, a);
}

static void op_no_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  (void)fi;
  /* With FUSE_CAP_NO_OPEN(DIR)_SUPPORT the kernel takes ENOSYS as success, keeps the page
   * cache (and the directory cache) across opens, and sends no more OPEN(DIR) or RELEASE(DIR).
   * A mount point opened that way still opens once this process is dead, so fusermount3's
   * auto_unmount would not take a killed mount down: dtar's watchdog does (src/mount/watchdog.ts). */
  fuse_reply_err(req, ENOSYS);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)fi;
  double a[4] = {req_id(req), (double)ino, (double)size, (double)off};
  call_js(of(req), OP_READ, 4, a);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)fi;
  double a[4] = {req_id(req), (double)ino, (double)size, (double)off};
  call_js(of(req), OP_READDIRPLUS, 4, a);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
  session_t *s = of(req);
  size_t n = strlen(name);
  if (n >= s->in_len) {
    fuse_reply_err(req, ERANGE);
    return;
  }
  memcpy(s->in_name, name, n + 1);
  double a[4] = {req_id(req), (double)ino, (double)n, (double)size};
  call_js(s, OP_GETXATTR, 4, a);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  double a[3] = {req_id(req), (double)ino, (double)size};
  call_js(of(req), OP_LISTXATTR, 3, a);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino) {
  double a[2] = {req_id(req), (double)ino};
  call_js(of(req), OP_STATFS, 2, a);
}

/* ---- the loop ---- */

static void finish(session_t *s);

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  session_t *s = handle->data;
  napi_env env = s->env;
  int ended = status < 0;
  napi_handle_scope hs;
  napi_callback_scope cs;
  napi_value resource;
  napi_open_handle_scope(env, &hs);
  napi_get_reference_value(env, s->resource, &resource);
  /* One callback scope for the batch: promise jobs and nextTicks run once, when it closes. */
  napi_open_callback_scope(env, resource, s->async, &cs);
  for (int i = 0; i < BATCH && !ended && !s->closed; i++) {
    int res = fuse_session_receive_buf(s->se, &s->buf);
    if (res == -EAGAIN || res == -EINTR) break;
    if (res <= 0 || fuse_session_exited(s->se)) {
      ended = 1; /* unmounted elsewhere (ENODEV) or the connection failed */
      break;
    }
    fuse_session_process_buf(s->se, &s->buf);
  }
  napi_close_callback_scope(env, cs);
  napi_close_handle_scope(env, hs);
  if (ended) finish(s);
}

static void on_closed(uv_handle_t *handle) {
  session_t *s = handle->data;
  napi_env env = s->env;
  fuse_session_unmount(s->se); /* lazy; a no-op if it is already gone */
  fuse_session_destroy(s->se);
  s->se = NULL;
  free(s->buf.mem);
  s->buf.mem = NULL;
  napi_handle_scope hs;
  napi_value fn, resource, result;
  napi_open_handle_scope(env, &hs);
  if (napi_get_reference_value(env, s->on_exit, &fn) == napi_ok && napi_get_reference_value(env, s->resource, &resource) == napi_ok)
    napi_make_callback(env, s->async, resource, fn, 0, NULL, &result);
  napi_close_handle_scope(env, hs);
}

/* Stops serving: no reply goes out after this, the mount is taken down once the handle closes. */
static void finish(session_t *s) {
  if (s->closed) return;
  s->closed = 1;
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t *)&s->poll, on_closed);
}

/* ---- argument helpers ---- */

#define CHECK(call)                                                  \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      napi_throw_error(env, NULL, "dtar_fuse: bad arguments: " #call); \
      return NULL;                                                   \
    }                                                                \
  } while (0)

static session_t *session_arg(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

static fuse_req_t req_arg(napi_env env, napi_value v) {
  int64_t id = 0;
  napi_get_value_int64(env, v, &id);
  return (fuse_req_t)(uintptr_t)id;
}

static double num_arg(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}

static void fill_stat(const double *r, struct stat *st) {
  memset(st, 0, sizeof(*st));
  st->st_ino = (ino_t)r[0];
  st->st_mode = (mode_t)r[1];
  st->st_nlink = (nlink_t)r[2];
  st->st_uid = (uid_t)r[3];
  st->st_gid = (gid_t)r[4];
  st->st_rdev = (dev_t)r[5];
  st->st_size = (off_t)r[6];
  st->st_blocks = (blkcnt_t)r[7];
  st->st_blksize = 4096;
  st->st_mtim.tv_sec = (time_t)r[8];
  st->st_mtim.tv_nsec = (long)r[9];
  st->st_atim = st->st_mtim;
  st->st_ctim = st->st_mtim;
}

static void fill_entry(session_t *s, const double *r, struct fuse_entry_param *e) {
  memset(e, 0, sizeof(*e));
  e->ino = (fuse_ino_t)r[0];
  fill_stat(r, &e->attr);
  e->attr_timeout = s->timeout;
  e->entry_timeout = s->timeout;
}

/* Reads (session, request, ...) and returns NULL when the session no longer answers. */
static session_t *reply_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, fuse_req_t *req) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_error(env, NULL, "dtar_fuse: too few arguments");
    return NULL;
  }
  session_t *s = session_arg(env, argv[0]);
  if (!s || s->closed) return NULL;
  *req = req_arg(env, argv[1]);
  return s;
}

/* ---- replies ---- */

static napi_value reply_err(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  fuse_req_t req;
  if (reply_args(env, info, 3, argv, &req)) fuse_reply_err(req, (int)num_arg(env, argv[2]));
  return NULL;
}

/* replyEntry(session, req): the entry whose attributes are record 0 of the stats array. */
static napi_value reply_entry(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  fuse_req_t req;
  session_t *s = reply_args(env, info, 2, argv, &req);
  if (!s) return NULL;
  struct fuse_entry_param e;
  fill_entry(s, s->stats, &e);
  fuse_reply_entry(req, &e);
  return NULL;
}

static napi_value reply_attr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  fuse_req_t req;
  session_t *s = reply_args(env, info, 2, argv, &req);
  if (!s) return NULL;
  struct stat st;
  fill_stat(s->stats, &st);
  fuse_reply_attr(req, &st, s->timeout);
  return NULL;
}

/* replyBuf(session, req, buffer, length): file data, an xattr value or a list of names. */
static napi_value reply_buf(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  fuse_req_t req;
  if (!reply_args(env, info, 4, argv, &req)) return NULL;
  void *data = NULL;
  size_t len = 0;
  CHECK(napi_get_buffer_info(env, argv[2], &data, &len));
  double n = num_arg(env, argv[3]);
  if (n < 0 || n > (double)len) n = 0;
  fuse_reply_buf(req, data, (size_t)n);
  return NULL;
}

static napi_value reply_readlink(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  fuse_req_t req;
  if (!reply_args(env, info, 3, argv, &req)) return NULL;
  void *data = NULL;
  size_t len = 0;
  CHECK(napi_get_buffer_info(env, argv[2], &data, &len));
  char *target = malloc(len + 1);
  if (!target) {
    fuse_reply_err(req, ENOMEM);
    return NULL;
  }
  memcpy(target, data, len);
  target[len] = '\0';
  fuse_reply_readlink(req, target);
  free(target);
  return NULL;
}

/* replyDirPlus(session, req, size, count): records 0..count-1 of the stats array, each
 * named by the NUL-terminated bytes at its name offset; as many as fit in size bytes. */
static napi_value reply_dirplus(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  fuse_req_t req;
  session_t *s = reply_args(env, info, 4, argv, &req);
  if (!s) return NULL;
  size_t size = (size_t)num_arg(env, argv[2]);
  size_t count = (size_t)num_arg(env, argv[3]);
  if (count > s->stats_count) count = s->stats_count;
  if (size > s->dirbuf_len) {
    char *grown = realloc(s->dirbuf, size);
    if (!grown) {
      fuse_reply_err(req, ENOMEM);
      return NULL;
    }
    s->dirbuf = grown;
    s->dirbuf_len = size;
  }
  size_t used = 0;
  for (size_t i = 0; i < count; i++) {
    const double *r = s->stats + i * STAT_FIELDS;
    size_t name_at = (size_t)r[11];
    if (name_at >= s->out_len) break;
    struct fuse_entry_param e;
    fill_entry(s, r, &e);
    if (r[12] != 0) e.ino = 0; /* d_ino and d_type still come from the attributes */
    size_t need = fuse_add_direntry_plus(req, s->dirbuf + used, size - used, s->out_names + name_at, &e, (off_t)r[10]);
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, s->dirbuf, used);
  return NULL;
}

static napi_value reply_xattr_size(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  fuse_req_t req;
  if (reply_args(env, info, 3, argv, &req)) fuse_reply_xattr(req, (size_t)num_arg(env, argv[2]));
  return NULL;
}

/* replyStatfs(session, req, blocks, files): a full read-only filesystem of 4 KiB blocks. */
static napi_value reply_statfs(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  fuse_req_t req;
  if (!reply_args(env, info, 4, argv, &req)) return NULL;
  struct statvfs st;
  memset(&st, 0, sizeof(st));
  st.f_bsize = 4096;
  st.f_frsize = 4096;
  st.f_blocks = (fsblkcnt_t)num_arg(env, argv[2]);
  st.f_files = (fsfilcnt_t)num_arg(env, argv[3]);
  st.f_namemax = 255;
  st.f_flag = ST_RDONLY;
  fuse_reply_statfs(req, &st);
  return NULL;
}

/* ---- mount and unmount ---- */

static napi_ref ref_of(napi_env env, napi_value v) {
  napi_ref r = NULL;
  napi_create_reference(env, v, 1, &r);
  return r;
}

static napi_value scratch(napi_env env, napi_value config, const char *key, void **data, size_t *len) {
  napi_value v;
  *data = NULL;
  *len = 0;
  if (napi_get_named_property(env, config, key, &v) != napi_ok) return NULL;
  bool is_buffer = false, is_typed = false;
  napi_is_buffer(env, v, &is_buffer);
  napi_is_typedarray(env, v, &is_typed);
  if (is_buffer) {
    napi_get_buffer_info(env, v, data, len);
  } else if (is_typed) {
    napi_typedarray_type type;
    size_t length;
    napi_value ab;
    size_t offset;
    napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset);
    if (type != napi_float64_array) return NULL;
    *len = length;
  }
  return *data ? v : NULL;
}

/*
 * mount(mountpoint, fuseArgs, config, handlers, onExit) -> session
 *   fuseArgs: libfuse's command line (["dtar", "-o", "ro,..."]);
 *   config: { stats: Float64Array, inName: Buffer, outNames: Buffer, timeout, maxBackground, congestion };
 *   handlers: functions by operation name; getxattr/listxattr may be missing (then the kernel stops asking).
 * Throws on failure (libfuse has printed why on stderr).
 */
static napi_value mount_fs(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) {
    napi_throw_error(env, NULL, "dtar_fuse: mount needs 5 arguments");
    return NULL;
  }
  char mountpoint[4096];
  size_t mlen;
  CHECK(napi_get_value_string_utf8(env, argv[0], mountpoint, sizeof(mountpoint), &mlen));

  uint32_t nargs = 0;
  CHECK(napi_get_array_length(env, argv[1], &nargs));
  if (nargs == 0 || nargs > 16) {
    napi_throw_error(env, NULL, "dtar_fuse: between 1 and 16 fuse arguments");
    return NULL;
  }
  char *fargv[16];
  char store[16][1024];
  for (uint32_t i = 0; i < nargs; i++) {
    napi_value a;
    size_t l;
    CHECK(napi_get_element(env, argv[1], i, &a));
    CHECK(napi_get_value_string_utf8(env, a, store[i], sizeof(store[i]), &l));
    fargv[i] = store[i];
  }
  struct fuse_args args = FUSE_ARGS_INIT((int)nargs, fargv);

  session_t *s = calloc(1, sizeof(*s));
  if (!s) {
    napi_throw_error(env, NULL, "dtar_fuse: out of memory");
    return NULL;
  }
  s->env = env;
  void *p;
  napi_value v;
  size_t len;
  if ((v = scratch(env, argv[2], "stats", &p, &len)) != NULL) {
    s->stats = p;
    s->stats_count = len / STAT_FIELDS;
    s->stats_ref = ref_of(env, v);
  }
  if ((v = scratch(env, argv[2], "inName", &p, &len)) != NULL) {
    s->in_name = p;
    s->in_len = len;
    s->in_ref = ref_of(env, v);
  }
  if ((v = scratch(env, argv[2], "outNames", &p, &len)) != NULL) {
    s->out_names = p;
    s->out_len = len;
    s->out_ref = ref_of(env, v);
  }
  if (!s->stats_count || !s->in_len || !s->out_len) {
    free(s);
    napi_throw_error(env, NULL, "dtar_fuse: config needs stats (Float64Array), inName and outNames (Buffers)");
    return NULL;
  }
  if (napi_get_named_property(env, argv[2], "timeout", &v) == napi_ok) s->timeout = num_arg(env, v);
  if (napi_get_named_property(env, argv[2], "maxBackground", &v) == napi_ok) s->max_background = (unsigned)num_arg(env, v);
  if (napi_get_named_property(env, argv[2], "congestion", &v) == napi_ok) s->congestion = (unsigned)num_arg(env, v);

  struct fuse_lowlevel_ops ops;
  memset(&ops, 0, sizeof(ops));
  ops.init = op_init;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.open = op_no_open;
  ops.opendir = op_no_open;
  for (int i = 0; i < OP_COUNT; i++) {
    napi_valuetype t = napi_undefined;
    if (napi_get_named_property(env, argv[3], OP_NAMES[i], &v) == napi_ok) napi_typeof(env, v, &t);
    if (t != napi_function) continue;
    s->handlers[i] = ref_of(env, v);
    switch (i) {
      case OP_LOOKUP: ops.lookup = op_lookup; break;
      case OP_GETATTR: ops.getattr = op_getattr; break;
      case OP_READLINK: ops.readlink = op_readlink; break;
      case OP_READ: ops.read = op_read; break;
      case OP_READDIRPLUS: ops.readdirplus = op_readdirplus; break;
      case OP_GETXATTR: ops.getxattr = op_getxattr; break;
      case OP_LISTXATTR: ops.listxattr = op_listxattr; break;
      case OP_STATFS: ops.statfs = op_statfs; break;
    }
  }
  s->on_exit = ref_of(env, argv[4]);
  napi_value resource, name;
  napi_create_object(env, &resource);
  s->resource = ref_of(env, resource);
  napi_create_string_utf8(env, "dtar:fuse", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &s->async);

  s->se = fuse_session_new(&args, &ops, sizeof(ops), s);
  if (!s->se || fuse_session_mount(s->se, mountpoint) != 0) {
    if (s->se) fuse_session_destroy(s->se);
    free(s);
    napi_throw_error(env, NULL, "dtar_fuse: cannot mount");
    return NULL;
  }
  int fd = fuse_session_fd(s->se);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  /* No child of this process may hold the connection open after it dies (auto_unmount, the watchdog). */
  fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &s->poll, fd);
  s->poll.data = s;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);

  napi_value external;
  CHECK(napi_create_external(env, s, NULL, NULL, &external));
  return external;
}

/* unmount(session): stops serving and takes the mount down (lazily); onExit follows. */
static napi_value unmount_fs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  session_t *s = argc ? session_arg(env, argv[0]) : NULL;
  if (s) finish(s);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"mount", NULL, mount_fs, NULL, NULL, NULL, napi_default, NULL},
      {"unmount", NULL, unmount_fs, NULL, NULL, NULL, napi_default, NULL},
      {"replyErr", NULL, reply_err, NULL, NULL, NULL, napi_default, NULL},
      {"replyEntry", NULL, reply_entry, NULL, NULL, NULL, napi_default, NULL},
      {"replyAttr", NULL, reply_attr, NULL, NULL, NULL, napi_default, NULL},
      {"replyBuf", NULL, reply_buf, NULL, NULL, NULL, napi_default, NULL},
      {"replyReadlink", NULL, reply_readlink, NULL, NULL, NULL, napi_default, NULL},
      {"replyDirPlus", NULL, reply_dirplus, NULL, NULL, NULL, napi_default, NULL},
      {"replyXattrSize", NULL, reply_xattr_size, NULL, NULL, NULL, napi_default, NULL},
      {"replyStatfs", NULL, reply_statfs, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  napi_value stat_fields;
  napi_create_uint32(env, STAT_FIELDS, &stat_fields);
  napi_set_named_property(env, exports, "STAT_FIELDS", stat_fields);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
