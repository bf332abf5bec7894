/*
** sandbox.c: environments built from an allow list, the memory and time
** limits, and the capabilities (--allow-read, --allow-write, --allow-net).
**
** A script is untrusted unless --trusted is given. It then runs in its own
** environment holding copies of the safe parts of the standard library, so
** nothing it changes is seen by the next script in the same state.
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>

#include <lualib.h>

#include "vouch.h"

#define MEMORY_GRACE (4u << 20)  /* room to unwind once memory ran out */
#define WATCHDOG_GRACE 1.0   /* seconds past the deadline before _exit */


/*
** {======================================================
** Memory: every allocation of the state goes through here.
** =======================================================
*/

void *vouch_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  vouch_host_t *h = (vouch_host_t *)ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    h->used_memory -= old;
    return NULL;
  }
  if (h->max_memory && nsize > old) {
    size_t cap = h->max_memory;
    if (h->limit_hit == VOUCH_LIMIT_MEMORY) cap += MEMORY_GRACE;
    if (h->used_memory + (nsize - old) > cap) {
      if (h->limit_hit != VOUCH_LIMIT_MEMORY) vouch_limits_trip(h, VOUCH_LIMIT_MEMORY);
      return NULL;
    }
  }
  ptr = realloc(ptr, nsize);
  if (ptr != NULL) h->used_memory += nsize - old;
  return ptr;
}


/*
** Charge `n` bytes the host allocates on a script's behalf (an HTTP body, a
** loader's buffers) to --max-memory, as if Lua had allocated them. Returns
** 0, or -1 after tripping the memory limit when they do not fit; the caller
** then frees what it holds and fails. Each charge is given back with
** vouch_mem_release once the buffer is freed.
*/
int vouch_mem_charge(vouch_host_t *h, size_t n) {
  if (h->max_memory && (n > h->max_memory || h->used_memory + n > h->max_memory)) {
    vouch_limits_trip(h, VOUCH_LIMIT_MEMORY);
    return -1;
  }
  h->used_memory += n;
  return 0;
}


void vouch_mem_release(vouch_host_t *h, size_t n) {
  h->used_memory -= n < h->used_memory ? n : h->used_memory;
}


/*
** End a run: collect its garbage now, while its limits still hold, so that
** the next run in this host (a REPL statement, a fuzz input) starts from
** what is live and no more. Left to the collector's pace, a run that ended
** at --max-memory would leave its garbage charged to the next one, whose
** first allocation past the limit trips it even though the emergency
** collection that follows would have found the room. Finalizers due now
** run here too, on `L` (the thread running now), under this run's time
** and memory.
*/
void vouch_mem_settle(lua_State *L) {
  vouch_host_t *h = vouch_host(L);
  lua_State *prev = h->running;
  h->running = L;
  lua_gc(L, LUA_GCCOLLECT, 0);
  h->running = prev;
}

/* }====================================================== */


/*
** {======================================================
** Time and interrupts.
**
** A count hook makes Lua 5.4 check every instruction, which halves the
** speed of tight code, so none is set while a script runs within its
** limits. When a limit trips (the allocator, the watchdog's signal, the
** REPL's Ctrl-C) the hook is set on the running coroutine with a count of
** 1, as lua.c does for SIGINT, and it raises at every instruction from then
** on so that no pcall can swallow it. C code that never returns to the VM
** (a pathological pattern, say) is ended by the watchdog after a grace.
** =======================================================
*/

static vouch_host_t *sig_host;   /* the host the signal handler trips */
static struct sigaction old_alarm;  /* SIGALRM's handler before ours, put back */
static int alarm_saved;
static pthread_t main_thread;
static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond = PTHREAD_COND_INITIALIZER;
static pthread_t wd_thread;
static int wd_stop;


const char *vouch_limit_message(vouch_host_t *h) {
  static char buf[128];
  switch (h->limit_hit) {
    case VOUCH_LIMIT_MEMORY:
      snprintf(buf, sizeof buf, "memory limit exceeded (--max-memory=%zuMiB)",
               h->max_memory >> 20);
      return buf;
    case VOUCH_LIMIT_TIME:
      snprintf(buf, sizeof buf, "time limit exceeded (--timeout=%gs)", h->timeout);
      return buf;
    case VOUCH_LIMIT_STACK: return "stack limit exceeded (recursion too deep)";
    case VOUCH_LIMIT_INTERRUPT: return "interrupted";
    default: return "no limit";
  }
}


/*
** Write the message of the limit that tripped, unless it was written
** already: a thousand tasks stopped by one limit make one report. Returns
** 1 when a limit tripped.
*/
int vouch_limits_report(vouch_host_t *h) {
  if (h->limit_hit == VOUCH_LIMIT_NONE || h->limit_hit == VOUCH_LIMIT_INTERRUPT) return 0;
  if (!h->limit_reported) {
    h->limit_reported = 1;
    fflush(stdout);
    fprintf(stderr, "vouch: %s\n", vouch_limit_message(h));
    fflush(stderr);
  }
  return 1;
}


static void limits_hook(lua_State *L, lua_Debug *ar) {
  vouch_host_t *h = vouch_host(L);
  (void)ar;
  if (h->limit_hit == VOUCH_LIMIT_INTERRUPT) {
    h->limit_hit = VOUCH_LIMIT_NONE;  /* one error, then carry on */
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted");
  }
  if (h->limit_hit != VOUCH_LIMIT_NONE) {
    lua_sethook(L, limits_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, "%s", vouch_limit_message(h));
  }
  lua_sethook(L, NULL, 0, 0);  /* a stale trip: nothing to do */
}


/*
** Trip a limit: remember it and make the running coroutine stop at its next
** instruction. Safe in a signal handler on the main thread (lua_sethook is).
*/
void vouch_limits_trip(vouch_host_t *h, int limit) {
  /* a limit outranks an interrupt; the first limit is the one reported */
  if (h->limit_hit == VOUCH_LIMIT_NONE || h->limit_hit == VOUCH_LIMIT_INTERRUPT)
    h->limit_hit = limit;
  if (h->running) lua_sethook(h->running, limits_hook, LUA_MASKCOUNT, 1);
}


/* Arm the hook on `L` if a limit has already tripped (a coroutine resumed late). */
void vouch_limits_hook(lua_State *L) {
  vouch_host_t *h = vouch_host(L);
  if (h->limit_hit != VOUCH_LIMIT_NONE) lua_sethook(L, limits_hook, LUA_MASKCOUNT, 1);
}


/*
** SIGALRM: the watchdog's, after the deadline. Any other (alarm() in a
** library, `kill -ALRM`, libFuzzer's own timer) must not end the script as
** out of time, so the deadline is checked, and the handler that was there
** before ours still gets the signal.
*/
static void on_alarm(int sig, siginfo_t *info, void *ctx) {
  vouch_host_t *h = sig_host;
  if (h && h->deadline && uv_hrtime() >= h->deadline) {
    vouch_limits_trip(h, VOUCH_LIMIT_TIME);
    return;
  }
  if (old_alarm.sa_flags & SA_SIGINFO) {
    if (old_alarm.sa_sigaction) old_alarm.sa_sigaction(sig, info, ctx);
  } else if (old_alarm.sa_handler != SIG_DFL && old_alarm.sa_handler != SIG_IGN) {
    old_alarm.sa_handler(sig);
  }
}


static void add_seconds(struct timespec *ts, double s) {
  ts->tv_sec += (time_t)s;
  ts->tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
  if (ts->tv_nsec >= 1000000000L) { ts->tv_sec++; ts->tv_nsec -= 1000000000L; }
}


/* Wait on the watchdog's condition for `s` seconds at most; wd_lock held. */
static void wd_sleep(double s) {
  struct timespec at;
  clock_gettime(CLOCK_REALTIME, &at);
  add_seconds(&at, s);
  pthread_cond_timedwait(&wd_cond, &wd_lock, &at);
}


/*
** The watchdog: at the deadline it signals the main thread (whose handler
** trips the limit), again every tenth of a second in case the signal came
** while a coroutine other than the one hooked was running, and after the
** grace it ends the process. The deadline is read afresh each time it
** wakes: the REPL moves it for each statement, and vouch_host_free gives
** the finalizers a budget of their own.
*/
static void *watchdog(void *arg) {
  vouch_host_t *h = arg;
  int late = 0;                 /* tenths of a second past the deadline */
  int stopped;
  pthread_mutex_lock(&wd_lock);
  while (!wd_stop) {
    uint64_t now = uv_hrtime(), deadline = h->deadline;
    if (deadline == 0 || now < deadline) {
      late = 0;
      wd_sleep(deadline ? (double)(deadline - now) / 1e9 : 3600);
      continue;
    }
    if (late++ >= (int)(WATCHDOG_GRACE * 10)) break;
    pthread_kill(main_thread, SIGALRM);
    wd_sleep(0.1);
  }
  stopped = wd_stop;
  pthread_mutex_unlock(&wd_lock);
  if (!stopped) {
    char msg[160];
    int n = snprintf(msg, sizeof msg, "vouch: time limit exceeded (--timeout=%gs)\n",
                     h->timeout);
    if (write(2, msg, (size_t)n) < 0) { /* nothing more to do */ }
    _exit(VOUCH_EXIT_LIMIT);
  }
  return NULL;
}


/* Set the deadline `seconds` from now (0: none) where the watchdog sees it. */
static void set_deadline(vouch_host_t *h, double seconds) {
  pthread_mutex_lock(&wd_lock);
  h->deadline = seconds > 0 ? uv_hrtime() + (uint64_t)(seconds * 1e9) : 0;
  pthread_cond_signal(&wd_cond);
  pthread_mutex_unlock(&wd_lock);
}


/*
** Start the limits for a run (or a REPL statement): no limit tripped yet,
** and the whole --timeout ahead, however little the last run left.
*/
void vouch_limits_arm(vouch_host_t *h) {
  vouch_limits_arm_for(h, h->timeout);
}


/* vouch_limits_arm with `seconds` of time instead of --timeout. */
void vouch_limits_arm_for(vouch_host_t *h, double seconds) {
  struct sigaction sa;
  h->limit_hit = VOUCH_LIMIT_NONE;
  h->limit_reported = 0;
  set_deadline(h, seconds);
  if (seconds > 0 && !h->watchdog_armed) {
    sig_host = h;
    main_thread = pthread_self();
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alarm;
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, alarm_saved ? NULL : &old_alarm);
    alarm_saved = 1;
    wd_stop = 0;
    if (!h->no_watchdog && pthread_create(&wd_thread, NULL, watchdog, h) == 0)
      h->watchdog_armed = 1;
  }
}


void vouch_limits_disarm(vouch_host_t *h) {
  set_deadline(h, 0);
  if (h->watchdog_armed) {
    pthread_mutex_lock(&wd_lock);
    wd_stop = 1;
    pthread_cond_signal(&wd_cond);
    pthread_mutex_unlock(&wd_lock);
    pthread_join(wd_thread, NULL);
    h->watchdog_armed = 0;
  }
  /* The host may be freed next: a late SIGALRM must not find it, and the
  ** process's own SIGALRM handler (libFuzzer has one) comes back. */
  if (sig_host == h) {
    sig_host = NULL;
    if (alarm_saved) sigaction(SIGALRM, &old_alarm, NULL);
    alarm_saved = 0;
  }
}

/* }====================================================== */


/*
** {======================================================
** Capabilities
** =======================================================
*/

void vouch_list_free(vouch_list_t *l) {
  int i;
  for (i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = 0;
}


/*
** Resolve a path that may not exist yet: the longest existing prefix goes
** through realpath (so `..` and symlinks cannot lead elsewhere) and the rest
** is appended as written, refused if it holds `..`. Returns a malloc'd
** string, or NULL with errno set.
*/
static char *resolve(const char *path) {
  char buf[PATH_MAX], *copy, *cut, *out;
  const char *rest = "";
  if (realpath(path, buf) != NULL) return strdup(buf);
  if (errno != ENOENT) return NULL;
  copy = strdup(path);
  if (copy == NULL) return NULL;
  cut = strrchr(copy, '/');
  if (cut == NULL) {
    rest = path;
    if (getcwd(buf, sizeof buf) == NULL) { free(copy); return NULL; }
  } else {
    *cut = '\0';
    rest = path + (cut - copy) + 1;
    if (realpath(cut == copy ? "/" : copy, buf) == NULL) { free(copy); return NULL; }
  }
  free(copy);
  if (strcmp(rest, "..") == 0 || strcmp(rest, ".") == 0 || *rest == '\0') {
    errno = EINVAL;
    return NULL;
  }
  out = malloc(strlen(buf) + strlen(rest) + 2);
  if (out) sprintf(out, "%s%s%s", buf, strcmp(buf, "/") ? "/" : "", rest);
  return out;
}


/*
** A path whose folder does not exist, made absolute as written: what a
** grant of it, and a check of it, compare. Returns a malloc'd string, or
** NULL (errno set) when it cannot be made or holds a `..`.
*/
static char *lexical(const char *path) {
  char cwd[PATH_MAX], *out;
  const char *p;
  for (p = path; (p = strstr(p, "..")) != NULL; p += 2)
    if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/')) { errno = EINVAL; return NULL; }
  if (path[0] == '/') return strdup(path);
  if (getcwd(cwd, sizeof cwd) == NULL) return NULL;
  if ((out = malloc(strlen(cwd) + strlen(path) + 2)) != NULL) sprintf(out, "%s/%s", cwd, path);
  return out;
}


int vouch_list_set(vouch_list_t *l, const char *csv, int resolve_paths) {
  const char *p = csv, *e;
  vouch_list_free(l);
  if (csv == NULL) return 0;
  while (*p) {
    char *item;
    e = strchr(p, ',');
    if (e == NULL) e = p + strlen(p);
    if (e > p) {
      char *raw = strndup(p, (size_t)(e - p));
      char **v = realloc(l->v, sizeof(char *) * (size_t)(l->n + 1));
      if (raw == NULL || v == NULL) { free(raw); if (v) l->v = v; return -1; }
      l->v = v;
      item = resolve_paths ? resolve(raw) : strdup(raw);
      if (item == NULL && resolve_paths) item = lexical(raw);  /* to be created later */
      if (item == NULL) item = strdup(raw);
      free(raw);
      if (item == NULL) return -1;
      l->v[l->n++] = item;
    }
    p = *e ? e + 1 : e;
  }
  return 0;
}


static int under(const char *path, const char *dir) {
  size_t n = strlen(dir);
  if (strcmp(dir, "/") == 0) return 1;
  return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}


/* Why a path is refused; vouch_check_path and the callers put the path first. */
static const char DENY_READ[] = "read access denied (allow it with --allow-read=PATH)";
static const char DENY_WRITE[] = "write access denied (allow it with --allow-write=PATH)";
static const char DENY_DB[] = "the host's database is reachable only through vouch.db";
static const char DENY_ESCAPE[] = "access denied (a symlink leads out of the granted path)";
const char VOUCH_NO_FOLDER[] = "its folder does not exist";

static const char *const db_suffix[] = { "", "-wal", "-shm", "-journal" };
#define NDB (sizeof db_suffix / sizeof db_suffix[0])

/*
** A path checked against the grants, ready to be opened beneath the grant
** it falls under. Everything vouch_path_open needs is copied in here on
** the main thread, so the open itself may run on any thread.
*/
struct vouch_path {
  char *resolved;           /* absolute, symlinks resolved when checked; owned */
  char *root;               /* the grant it falls under; owned; NULL if trusted */
  const char *rest;         /* the part of resolved below root; "" for root itself */
  int ndb;                  /* how many entries of db[] are filled */
  struct { dev_t dev; ino_t ino; } db[NDB];  /* the database files that exist */
  int has_db_dir;           /* db_dir holds the database's directory */
  struct { dev_t dev; ino_t ino; } db_dir;
  char *db_base;            /* the database's file name; owned, NULL for none */
};


void vouch_path_free(vouch_path_t *p) {
  if (p == NULL) return;
  free(p->resolved);
  free(p->root);
  free(p->db_base);
  free(p);
}


const char *vouch_path_resolved(const vouch_path_t *p) { return p->resolved; }


/* The grant `r` falls under for `mode`, or NULL. */
static const char *grant_for(vouch_host_t *h, const char *r, int mode, char *cwd) {
  int i;
  for (i = 0; i < h->allow_write.n; i++)
    if (under(r, h->allow_write.v[i])) return h->allow_write.v[i];
  if (mode != VOUCH_READ) return NULL;
  for (i = 0; i < h->allow_read.n; i++)
    if (under(r, h->allow_read.v[i])) return h->allow_read.v[i];
  if (h->allow_read.n == 0) {
    if (h->script_dir && under(r, h->script_dir)) return h->script_dir;
    if (getcwd(cwd, PATH_MAX) && under(r, cwd)) return cwd;
  }
  return NULL;
}


/*
** The host's database and its -wal, -shm and -journal files are reachable
** only through vouch.db: a script that could write them could forge the
** record or destroy it, and a lock file it held would stop the host. They
** are refused by name here and, for what they are when opened, by
** device and inode in check_fd and check_at.
*/
static int db_files(vouch_host_t *h, vouch_path_t *p) {
  char *db, *name, *cut;
  struct stat st;
  size_t i, n;
  if (h->trusted || h->db_path == NULL || strcmp(h->db_path, ":memory:") == 0) return 0;
  if ((db = resolve(h->db_path)) == NULL) return 0;
  n = strlen(db);
  if ((name = malloc(n + 16)) == NULL) { free(db); return 0; }
  for (i = 0; i < NDB; i++) {
    sprintf(name, "%s%s", db, db_suffix[i]);
    if (strcmp(p->resolved, name) == 0) { free(name); free(db); return -1; }
    if (stat(name, &st) == 0) {
      p->db[p->ndb].dev = st.st_dev;
      p->db[p->ndb++].ino = st.st_ino;
    }
  }
  free(name);
  cut = strrchr(db, '/');
  p->db_base = strdup(cut + 1);
  *cut = '\0';
  if (stat(*db ? db : "/", &st) == 0) {
    p->has_db_dir = 1;
    p->db_dir.dev = st.st_dev;
    p->db_dir.ino = st.st_ino;
  }
  free(db);
  return 0;
}


/*
** Check `path` for `mode` (VOUCH_READ, VOUCH_WRITE) and find the grant it
** falls under. Returns the checked path (free it with vouch_path_free), or
** NULL: *why then says why the sandbox refuses it, or is NULL when memory
** ran out. Nothing is opened yet: see vouch_path_open.
*/
vouch_path_t *vouch_path_check(vouch_host_t *h, const char *path, int mode,
                               const char **why) {
  vouch_path_t *p = calloc(1, sizeof *p);
  char cwd[PATH_MAX];
  const char *g = NULL;
  *why = mode == VOUCH_READ ? DENY_READ : DENY_WRITE;
  if (p == NULL) { *why = NULL; return NULL; }
  if ((p->resolved = resolve(path)) == NULL) {
    char *abs;
    if (errno == ENOMEM) *why = NULL;
    else if (errno == ENOENT && (abs = lexical(path)) != NULL) {
      /* said only where the path is granted: elsewhere, whether a folder
         exists is not a script's to learn */
      if (h->trusted || grant_for(h, abs, mode, cwd)) *why = VOUCH_NO_FOLDER;
      free(abs);
    }
    vouch_path_free(p);
    return NULL;
  }
  if (!h->trusted && (g = grant_for(h, p->resolved, mode, cwd)) == NULL) {
    vouch_path_free(p);
    return NULL;
  }
  if (db_files(h, p) != 0) {
    *why = DENY_DB;
    vouch_path_free(p);
    return NULL;
  }
  if (g != NULL) {
    size_t n = strcmp(g, "/") == 0 ? 0 : strlen(g);
    if ((p->root = strdup(g)) == NULL) { *why = NULL; vouch_path_free(p); return NULL; }
    p->rest = p->resolved + n;
    while (*p->rest == '/') p->rest++;
  } else {
    p->rest = p->resolved;
  }
  return p;
}


static int have_openat2 = 1;  /* cleared when the kernel says ENOSYS */

static int openat2_(int dirfd, const char *path, int oflags, mode_t perm, uint64_t resolve) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)oflags;
  how.mode = (oflags & (O_CREAT | O_TMPFILE)) ? perm : 0;
  how.resolve = resolve;
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}


/*
** Open `path` below `dirfd` without following any symlink: the walk for
** kernels before openat2. A symlink on the way is refused (ELOOP) rather
** than followed, so the walk can never leave the directory.
*/
static int walk_nofollow(int dirfd, const char *path, int oflags, mode_t perm) {
  char *copy = strdup(path), *comp, *next;
  int fd = dup(dirfd), nfd;
  if (copy == NULL || fd < 0) { free(copy); if (fd >= 0) close(fd); return -1; }
  for (comp = copy; fd >= 0; comp = next) {
    while (*comp == '/') comp++;
    next = strchr(comp, '/');
    if (next) *next++ = '\0';
    while (next && *next == '/') next++;
    if (next && *next == '\0') next = NULL;
    if (*comp == '\0') break;  /* "/" or "": the directory itself */
    if (strcmp(comp, "..") == 0) { close(fd); fd = -1; errno = EXDEV; break; }
    if (next) nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    else nfd = openat(fd, comp, oflags | O_NOFOLLOW, perm);
    if (nfd < 0 && next && errno == ENOTDIR) errno = ELOOP;  /* maybe a symlink */
    close(fd);
    fd = nfd;
    if (next == NULL) { free(copy); return fd; }
  }
  free(copy);
  if (fd >= 0) {  /* the path named the directory itself */
    char self[32];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    nfd = (oflags & O_PATH) ? dup(fd) : open(self, oflags, perm);
    close(fd);
    fd = nfd;
  }
  return fd;
}


/*
** Open `rest` beneath the directory `root`. `root` itself is opened with no
** symlink allowed anywhere in it (it was resolved when granted), and `rest`
** with RESOLVE_BENEATH, so no symlink, swapped in at any moment, can lead
** out of the grant. An empty `rest` opens `root` itself; a NULL `root`
** (trusted) opens `rest` as it is.
*/
static int open_beneath(const char *root, const char *rest, int oflags, mode_t perm) {
  int rootfd, fd, err;
  oflags |= O_CLOEXEC;
  if (oflags & O_CREAT) oflags |= O_NOFOLLOW;  /* never create through a symlink */
  if (root == NULL) return openat(AT_FDCWD, rest, oflags, perm);
  if (have_openat2) {
    /* Kernels before 5.6, and valgrind, answer ENOSYS: walk instead. */
    if (*rest == '\0') {
      fd = openat2_(AT_FDCWD, root, oflags, perm, RESOLVE_NO_SYMLINKS);
      if (fd >= 0 || errno != ENOSYS) return fd;
      have_openat2 = 0;
      goto walk;
    }
    rootfd = openat2_(AT_FDCWD, root, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                      RESOLVE_NO_SYMLINKS);
    if (rootfd >= 0) {
      fd = openat2_(rootfd, rest, oflags, perm, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
      err = errno;
      close(rootfd);
      errno = err;
      return fd;
    }
    if (errno != ENOSYS) return -1;
    have_openat2 = 0;
  }
walk:
  rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return -1;
  if (*rest == '\0') fd = walk_nofollow(rootfd, root, oflags, perm);
  else {
    int dirfd = walk_nofollow(rootfd, root, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    fd = dirfd < 0 ? -1 : walk_nofollow(dirfd, rest, oflags, perm);
    err = errno;
    if (dirfd >= 0) close(dirfd);
    errno = err;
  }
  err = errno;
  close(rootfd);
  errno = err;
  return fd;
}


static int is_db_file(const vouch_path_t *p, const struct stat *st) {
  int i;
  for (i = 0; i < p->ndb; i++)
    if (p->db[i].dev == st->st_dev && p->db[i].ino == st->st_ino) return 1;
  return 0;
}


/* An open that failed because of a symlink is the sandbox's refusal. */
static int refused(int err, const char **why) {
  if (err == EXDEV || err == ELOOP) {
    *why = DENY_ESCAPE;
    errno = EACCES;
  } else {
    errno = err;
  }
  return -1;
}


/*
** Open the checked path with open(2)'s `oflags` and `perm`, beneath its
** grant, then check what was opened: a directory where a file is wanted
** fails with EISDIR, and one of the database's files is refused. Returns
** the descriptor (the caller closes it), or -1 with errno set and *why set
** when the sandbox refuses (errno is then EACCES), NULL otherwise. Touches
** no host state: it may run on the loop's thread pool.
*/
int vouch_path_open(const vouch_path_t *p, int oflags, mode_t perm, const char **why) {
  struct stat st;
  int fd = open_beneath(p->root, p->rest, oflags, perm);
  *why = NULL;
  if (fd < 0) return refused(errno, why);
  if (fstat(fd, &st) != 0) { int err = errno; close(fd); errno = err; return -1; }
  if (is_db_file(p, &st)) {
    close(fd);
    *why = DENY_DB;
    errno = EACCES;
    return -1;
  }
  if (S_ISDIR(st.st_mode) && !(oflags & (O_DIRECTORY | O_PATH))) {
    close(fd);
    errno = EISDIR;
    return -1;
  }
  return fd;
}


/*
** Open the directory that holds the checked path, beneath the grant (or,
** when the path is the grant itself, the directory the grant sits in), to
** create, rename or make the last component there with the *at calls. The
** name to use with it is returned in *base (it points into the path). The
** name is refused if it is one of the database's files, by device and
** inode and, for one not created yet, by the directory and name.
*/
int vouch_path_open_dir(const vouch_path_t *p, const char **base, const char **why) {
  char *parent = strdup(p->resolved), *cut;
  const char *root = p->root, *rest;
  struct stat st, dst;
  int fd, i;
  *why = NULL;
  if (parent == NULL) return -1;
  cut = strrchr(parent, '/');
  *base = p->resolved + (cut - parent) + 1;
  *cut = '\0';
  if (*parent == '\0') strcpy(parent, "/");
  if (root != NULL && under(parent, root)) {
    rest = parent + (strcmp(root, "/") == 0 ? 0 : strlen(root));
    while (*rest == '/') rest++;
  } else {  /* the grant is this very file: its directory, with no symlinks */
    rest = "";
    if (root != NULL) root = parent;
    else rest = parent;
  }
  fd = open_beneath(root, rest, O_PATH | O_DIRECTORY, 0);
  free(parent);
  if (fd < 0) return refused(errno, why);
  if (p->db_base != NULL) {
    int db = fstatat(fd, *base, &st, AT_SYMLINK_NOFOLLOW) == 0 && is_db_file(p, &st);
    if (!db && p->has_db_dir && fstat(fd, &dst) == 0 && dst.st_dev == p->db_dir.dev &&
        dst.st_ino == p->db_dir.ino) {
      size_t n = strlen(p->db_base);
      for (i = 0; i < (int)NDB && !db; i++)
        db = strncmp(*base, p->db_base, n) == 0 && strcmp(*base + n, db_suffix[i]) == 0;
    }
    if (db) {
      close(fd);
      *why = DENY_DB;
      errno = EACCES;
      return -1;
    }
  }
  return fd;
}


/*
** Check and open in one: vouch_path_check then vouch_path_open. On success
** *resolved (when not NULL) receives the resolved path, malloc'd.
*/
int vouch_open_path(vouch_host_t *h, const char *path, int mode, int oflags, mode_t perm,
                    char **resolved, const char **why) {
  vouch_path_t *p = vouch_path_check(h, path, mode, why);
  int fd, err;
  if (p == NULL) {
    errno = *why ? EACCES : ENOMEM;
    return -1;
  }
  fd = vouch_path_open(p, oflags, perm, why);
  err = errno;
  if (fd >= 0 && resolved) {
    *resolved = strdup(p->resolved);
    if (*resolved == NULL) { close(fd); fd = -1; err = ENOMEM; }
  }
  vouch_path_free(p);
  errno = err;
  return fd;
}


/*
** From Lua: vouch_open_path, raising when the sandbox refuses (naming the
** flag to use) and returning -1 with errno set for any other failure, which
** the caller reports with vouch_fail_errno: a granted path in a folder that
** does not exist is ENOENT, as for open(2).
*/
int vouch_check_open(lua_State *L, const char *path, int mode, int oflags, mode_t perm,
                     char **resolved) {
  const char *why;
  int fd = vouch_open_path(vouch_host(L), path, mode, oflags, perm, resolved, &why);
  if (fd < 0 && why == VOUCH_NO_FOLDER) errno = ENOENT;
  else if (fd < 0 && why != NULL) return luaL_error(L, "%s: %s", path, why);
  if (fd < 0 && errno == ENOMEM) return luaL_error(L, "not enough memory");
  return fd;
}


/*
** Whether `path` may be opened for `mode`. Reading is allowed under the
** --allow-read paths (default: the script's directory and the working
** directory) and under the --allow-write ones; writing only under
** --allow-write. The database's own files never are (vouch.db reaches
** them). On success and when `resolved` is not NULL it receives the
** resolved path (malloc'd). A check by name only: whatever opens the path
** afterwards should use vouch_path_open instead.
*/
int vouch_allowed(vouch_host_t *h, const char *path, int mode, char **resolved) {
  const char *why;
  vouch_path_t *p = vouch_path_check(h, path, mode, &why);
  if (p == NULL) return 0;
  if (resolved) *resolved = strdup(p->resolved);
  vouch_path_free(p);
  return resolved == NULL || *resolved != NULL;
}


/*
** Make `path` readable as well (a file a user named on a command's command
** line). When no --allow-read was given the defaults, the script's
** directory and the working directory, stay readable. Returns 0, or -1
** when the path does not exist or memory ran out.
*/
int vouch_allow_read_path(vouch_host_t *h, const char *path) {
  char cwd[PATH_MAX], *r, **v;
  /* a file that is not there is granted too, so that reading it says so */
  if ((r = resolve(path)) == NULL && (errno != ENOENT || (r = lexical(path)) == NULL)) return -1;
  if (h->allow_read.n == 0) {
    const char *defaults[2];
    int i, n = 0;
    if (h->script_dir) defaults[n++] = h->script_dir;
    if (getcwd(cwd, sizeof cwd)) defaults[n++] = cwd;
    for (i = 0; i < n; i++) {
      char *d = strdup(defaults[i]);
      v = realloc(h->allow_read.v, sizeof(char *) * (size_t)(h->allow_read.n + 1));
      if (d == NULL || v == NULL) { free(d); if (v) h->allow_read.v = v; free(r); return -1; }
      h->allow_read.v = v;
      h->allow_read.v[h->allow_read.n++] = d;
    }
  }
  v = realloc(h->allow_read.v, sizeof(char *) * (size_t)(h->allow_read.n + 1));
  if (v == NULL) { free(r); return -1; }
  h->allow_read.v = v;
  h->allow_read.v[h->allow_read.n++] = r;
  return 0;
}


/* Like vouch_allowed, but raises an error that names the flag to use. */
int vouch_check_path(lua_State *L, const char *path, int mode, char **resolved) {
  const char *why;
  vouch_path_t *p = vouch_path_check(vouch_host(L), path, mode, &why);
  if (p == NULL && why == NULL) return luaL_error(L, "not enough memory");
  if (p == NULL) return luaL_error(L, "%s: %s", path, why);
  if (resolved && (*resolved = strdup(p->resolved)) == NULL) {
    vouch_path_free(p);
    return luaL_error(L, "not enough memory");
  }
  vouch_path_free(p);
  return 1;
}


int vouch_net_allowed(vouch_host_t *h, const char *host) {
  int i;
  if (h->trusted) return 1;
  for (i = 0; i < h->allow_net.n; i++)
    if (strcmp(h->allow_net.v[i], "*") == 0 || strcasecmp(h->allow_net.v[i], host) == 0)
      return 1;
  return 0;
}


/* Parse "64M", "1G", "512k" or plain bytes. */
int vouch_parse_size(const char *s, size_t *out) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || v < 0) return -1;
  switch (*end) {
    case 'k': case 'K': v *= 1024; end++; break;
    case 'm': case 'M': v *= 1024 * 1024; end++; break;
    case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
    default: break;
  }
  if (*end == 'i') end++;
  if (*end == 'B' || *end == 'b') end++;
  if (*end != '\0') return -1;
  *out = (size_t)v;
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** Loading: text chunks only, unless trusted
** =======================================================
*/

/*
** Load a script file as a text chunk (a first line starting with '#' is
** skipped, as lua.c does) and push it, or push the error message. The
** caller checks the read capability when the path comes from a script, and
** then opens it with vouch_path_open and calls vouch_load_script_fd.
*/
int vouch_load_script(lua_State *L, const char *path, const char *chunkname) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    lua_pushfstring(L, "cannot open %s: %s", path, strerror(errno));
    return LUA_ERRFILE;
  }
  return vouch_load_script_fd(L, fd, path, chunkname);
}


/*
** Load the script open on `fd` (closed here) as vouch_load_script does;
** `path` names it in messages and, without a `chunkname`, in tracebacks.
*/
/*
** Push what is left of `fd` as a string and close it. Returns 0, or the
** errno of a failed read (nothing pushed then).
*/
int vouch_read_fd(lua_State *L, int fd) {
  luaL_Buffer b;
  char buf[8192];
  ssize_t n;
  luaL_buffinit(L, &b);
  while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) luaL_addlstring(&b, buf, (size_t)n);
  if (n < 0) {
    int err = errno;
    close(fd);
    luaL_pushresult(&b);
    lua_pop(L, 1);
    return err;
  }
  close(fd);
  luaL_pushresult(&b);
  return 0;
}


int vouch_load_script_fd(lua_State *L, int fd, const char *path, const char *chunkname) {
  vouch_host_t *h = vouch_host(L);
  struct stat st;
  size_t skip = 0;
  int status, err;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    lua_pushfstring(L, "cannot read %s: %s", path, strerror(EISDIR));
    return LUA_ERRFILE;
  }
  if ((err = vouch_read_fd(L, fd)) != 0) {
    lua_pushfstring(L, "cannot read %s: %s", path, strerror(err));
    return LUA_ERRFILE;
  }
  {
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (len > 0 && s[0] == '#') {
      while (skip < len && s[skip] != '\n') skip++;
    }
    if (chunkname == NULL) chunkname = lua_pushfstring(L, "@%s", path);
    else lua_pushstring(L, chunkname);
    /* keep the line count: load the newline that ended the '#' line */
    status = luaL_loadbufferx(L, s + skip, len - skip, lua_tostring(L, -1),
                              h->trusted ? "bt" : "t");
    lua_rotate(L, -3, 1);  /* chunk below source and name */
    lua_pop(L, 2);
  }
  return status;
}


/* load(chunk [, chunkname [, mode [, env]]]): text only; env defaults to the script's. */
static int sb_load(lua_State *L) {
  int status;
  size_t len;
  const char *s;
  const char *name;
  const char *mode = luaL_optstring(L, 3, "t");
  int has_env = !lua_isnone(L, 4);
  if (strchr(mode, 'b') != NULL && strchr(mode, 't') == NULL)
    return luaL_error(L, "binary chunks are not allowed in the sandbox");
  if (lua_type(L, 1) == LUA_TSTRING) {
    s = lua_tolstring(L, 1, &len);
    name = luaL_optstring(L, 2, s);
    status = luaL_loadbufferx(L, s, len, name, "t");
  } else {
    /* A reader function: collect its pieces first (bounded by memory). */
    luaL_Buffer b;
    luaL_checktype(L, 1, LUA_TFUNCTION);
    name = luaL_optstring(L, 2, "=(load)");
    luaL_buffinit(L, &b);
    for (;;) {
      lua_pushvalue(L, 1);
      lua_call(L, 0, 1);
      if (lua_isnil(L, -1) || (lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) == 0)) {
        lua_pop(L, 1);
        break;
      }
      if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "reader function must return a string");
      luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    s = lua_tolstring(L, -1, &len);
    status = luaL_loadbufferx(L, s, len, name, "t");
  }
  if (status != LUA_OK) {
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  if (has_env) lua_pushvalue(L, 4);
  else lua_pushvalue(L, lua_upvalueindex(1));
  if (lua_setupvalue(L, -2, 1) == NULL) lua_pop(L, 1);
  return 1;
}


/* setmetatable without __gc: a finalizer would run after the limits are gone. */
static int sb_setmetatable(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_type(L, 2) == LUA_TTABLE) {
    if (lua_getfield(L, 2, "__gc") != LUA_TNIL)
      return luaL_error(L, "__gc metamethods are not allowed in the sandbox");
    lua_pop(L, 1);
  }
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, 1);
  return 1;
}


/*
** getmetatable: tables as usual; for other values only a __metatable field
** is answered, so a script cannot reach (and change) the metatables that
** the host's userdata and the strings share with every other script.
*/
static int sb_getmetatable(lua_State *L) {
  luaL_checkany(L, 1);
  if (!lua_getmetatable(L, 1)) {
    lua_pushnil(L);
    return 1;
  }
  if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL) return 1;
  if (lua_type(L, 1) != LUA_TTABLE) lua_pushnil(L);
  return 1;  /* the metatable of a table, or nil */
}


/*
** {------------------------------------------------------
** pcall and xpcall: a limit is not an error to catch. Lua reports a stack
** overflow (of the Lua stack or of the C stack, or in an error handler) as
** an ordinary error that any pcall would swallow, so the recursion would go
** on; here it trips the stack limit, which ends the script with exit 3.
** Only Lua's own words count, by their shape: text from the data that
** merely holds the words (a loader quoting a bad token) is an ordinary
** error. A script that raises exactly those words ends itself.
** -------------------------------------------------------
*/

/*
** Whether `msg` is Lua's report of a stack overflow: "[POS: ]stack
** overflow" or "[POS: ]C stack overflow" (ldo.c, lstate.c), or
** luaL_checkstack's "[POS: ]stack overflow (WHY)".
*/
int vouch_is_overflow(const char *msg) {
  static const char words[] = "stack overflow";
  const char *p = msg;
  size_t n = strlen(msg), w = sizeof words - 1;
  if (n >= w && strcmp(msg + n - w, words) == 0) {
    p = msg + n - w;                    /* the message ends with the words */
    if (p - msg >= 2 && strncmp(p - 2, "C ", 2) == 0) p -= 2;
    return p == msg || (p - msg >= 2 && strncmp(p - 2, ": ", 2) == 0);
  }
  while ((p = strstr(p, "stack overflow (")) != NULL) {
    if ((p == msg || (p - msg >= 2 && strncmp(p - 2, ": ", 2) == 0)) && msg[n - 1] == ')' &&
        strchr(p, '\'') == NULL)
      return 1;
    p++;
  }
  return 0;
}


static int is_overflow(lua_State *L, int status, int idx) {
  if (status == LUA_ERRERR) return 1;     /* the handler overflowed in turn */
  if (lua_type(L, idx) != LUA_TSTRING) return 0;
  return vouch_is_overflow(lua_tostring(L, idx));
}


/* After a protected call, as lbaselib's finishpcall, but limits go on. */
static int finish_pcall(lua_State *L, int status, lua_KContext extra) {
  vouch_host_t *h = vouch_host(L);
  if (status != LUA_OK && status != LUA_YIELD) {
    if (h->limit_hit == VOUCH_LIMIT_NONE && is_overflow(L, status, -1))
      vouch_limits_trip(h, VOUCH_LIMIT_STACK);
    if (h->limit_hit != VOUCH_LIMIT_NONE && h->limit_hit != VOUCH_LIMIT_INTERRUPT)
      return luaL_error(L, "%s", vouch_limit_message(h));
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
  }
  return lua_gettop(L) - (int)extra;
}


static int sb_pcall(lua_State *L) {
  int status;
  luaL_checkany(L, 1);
  lua_pushboolean(L, 1);                  /* first result if no errors */
  lua_insert(L, 1);
  status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, finish_pcall);
  return finish_pcall(L, status, 0);
}


/* The message handler xpcall installs: notes an overflow, then the script's. */
static int xpcall_handler(lua_State *L) {
  vouch_host_t *h = vouch_host(L);
  if (h->limit_hit == VOUCH_LIMIT_NONE && is_overflow(L, LUA_ERRRUN, 1))
    vouch_limits_trip(h, VOUCH_LIMIT_STACK);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}


static int sb_xpcall(lua_State *L) {
  int status;
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, xpcall_handler, 1);
  lua_replace(L, 2);                      /* the script's handler, wrapped */
  lua_pushboolean(L, 1);                  /* first result */
  lua_pushvalue(L, 1);                    /* function */
  lua_rotate(L, 3, 2);                    /* move them below function's arguments */
  status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_pcall);
  return finish_pcall(L, status, 2);
}

/* }------------------------------------------------------ */


static int sb_collectgarbage(lua_State *L) {
  const char *opt = luaL_optstring(L, 1, "count");
  if (strcmp(opt, "count") != 0)
    return luaL_error(L, "collectgarbage(\"%s\") is not allowed in the sandbox", opt);
  lua_pushnumber(L, (lua_Number)lua_gc(L, LUA_GCCOUNT, 0) +
                    (lua_Number)lua_gc(L, LUA_GCCOUNTB, 0) / 1024);
  return 1;
}


/*
** {------------------------------------------------------
** require: the embedded stdlib (vouch.*), then the script's directory,
** then VOUCH_PATH (directories or package.path-style templates, ';'
** separated). Each environment has its own table of loaded modules.
** -------------------------------------------------------
*/

static int find_embedded(const char *name) {
  int i;
  for (i = 0; vouch_stdlib[i].name; i++)
    if (strcmp(vouch_stdlib[i].name, name) == 0) return i;
  return -1;
}


/* Push the path of module `name` found in `dir` or a template, or nothing. */
static int try_file(lua_State *L, const char *tmpl, const char *name, int is_template) {
  const char *file;
  luaL_Buffer b;
  const char *mod = luaL_gsub(L, name, ".", "/");
  if (is_template) {
    file = luaL_gsub(L, tmpl, "?", mod);
    lua_remove(L, -2);
  } else {
    luaL_buffinit(L, &b);
    luaL_addstring(&b, tmpl);
    luaL_addchar(&b, '/');
    luaL_addstring(&b, mod);
    luaL_addstring(&b, ".lua");
    luaL_pushresult(&b);
    lua_remove(L, -2);
    file = lua_tostring(L, -1);
    if (access(file, R_OK) != 0) {
      lua_pop(L, 1);
      mod = luaL_gsub(L, name, ".", "/");
      lua_pushfstring(L, "%s/%s/init.lua", tmpl, mod);
      lua_remove(L, -2);
      file = lua_tostring(L, -1);
    }
  }
  if (access(file, R_OK) == 0) return 1;
  lua_pop(L, 1);
  return 0;
}


static int search_path(lua_State *L, const char *name) {
  vouch_host_t *h = vouch_host(L);
  const char *vp = getenv("VOUCH_PATH");
  if (h->script_dir && try_file(L, h->script_dir, name, 0)) return 1;
  if (vp != NULL) {
    const char *p = vp, *e;
    while (*p) {
      e = strchr(p, ';');
      if (e == NULL) e = p + strlen(p);
      if (e > p) {
        lua_pushlstring(L, p, (size_t)(e - p));
        {
          const char *entry = lua_tostring(L, -1);
          int found = try_file(L, entry, name, strchr(entry, '?') != NULL);
          lua_remove(L, found ? -2 : -1);
          if (found) return 1;
        }
      }
      p = *e ? e + 1 : e;
    }
  }
  return 0;
}


/* Load module `name` as a chunk, or raise. Pushes the chunk and its origin. */
static void load_module(lua_State *L, const char *name) {
  int i = strncmp(name, "vouch.", 6) == 0 ? find_embedded(name) : -1;
  int status;
  if (i >= 0) {
    const char *file = lua_pushfstring(L, "@[vouch]/%s.lua", name + 6);
    status = luaL_loadbufferx(L, vouch_stdlib[i].src, vouch_stdlib[i].len, file, "t");
    lua_remove(L, -2);
    lua_pushfstring(L, "[vouch]/%s.lua", name + 6);
  } else if (search_path(L, name)) {
    const char *file = lua_tostring(L, -1);
    status = vouch_load_script(L, file, NULL);
    lua_insert(L, -2);  /* chunk below the file name */
  } else {
    luaL_error(L, "module '%s' not found (looked in the vouch stdlib, the script's "
                  "directory and VOUCH_PATH)", name);
    return;
  }
  if (status != LUA_OK)
    luaL_error(L, "error loading module '%s': %s", name, lua_tostring(L, -2));
}


/* require(name) in the sandbox; upvalues: the environment, its loaded table. */
static int sb_require(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_settop(L, 1);
  if (lua_getfield(L, lua_upvalueindex(2), name) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  load_module(L, name);                    /* 2: chunk, 3: origin */
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_setupvalue(L, 2, 1);                 /* _ENV of the module */
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 3);
  lua_call(L, 2, 1);                       /* 4: what the module returned */
  if (lua_isnil(L, 4)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
  }
  lua_pushvalue(L, 4);
  lua_setfield(L, lua_upvalueindex(2), name);
  lua_pushvalue(L, 3);
  return 2;                                /* module, origin */
}


/* The searcher added to package.searchers for trusted scripts. */
static int searcher(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  int i = strncmp(name, "vouch.", 6) == 0 ? find_embedded(name) : -1;
  if (i < 0 && !search_path(L, name)) {
    lua_pushfstring(L, "no vouch module '%s' (stdlib, script directory, VOUCH_PATH)", name);
    return 1;
  }
  if (i < 0) lua_pop(L, 1);  /* the path search_path pushed */
  load_module(L, name);
  return 2;
}

/* }------------------------------------------------------ */


/*
** Called once per state: make the string metatable safe for every script
** (no `dump`, and `getmetatable("")` answers a string instead of the table),
** keep the templates the environments are copied from, and teach the stock
** `require` about vouch modules for trusted scripts.
*/
void vouch_sandbox_open(lua_State *L) {
  vouch_host_t *h = vouch_host(L);
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_remove(L, -2);
  if (!h->trusted) {
    lua_getglobal(L, "string");
    lua_newtable(L);   /* safe copy used by s:method() */
    lua_pushnil(L);
    while (lua_next(L, -3)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, -4);
    }
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_setfield(L, -3, "__index");
    lua_pop(L, 1);
    lua_pushliteral(L, "the string metatable is not accessible");
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
  /* package.searchers gets vouch's, before the C loaders */
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");
  lua_pushcfunction(L, searcher);
  lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
  lua_pop(L, 2);
  lua_getfield(L, LUA_REGISTRYINDEX, "vouch.lib");
  lua_setglobal(L, "vouch");
}


static const char *const base_allowed[] = {
  "assert", "error", "ipairs", "next", "pairs", "print", "select",
  "tonumber", "tostring", "type", "rawequal",
  "rawget", "rawlen", "rawset", "_VERSION", NULL
};

static const char *const libs_copied[] = {
  "string", "table", "math", "utf8", "coroutine", NULL
};

static const char *const os_allowed[] = { "time", "clock", "date", "difftime", NULL };


/* Push a shallow copy of the table at `idx`. */
static void copy_table(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
}


/*
** Push a fresh sandbox environment: the allow list of the standard library
** as copies, `load`, `require`, `setmetatable` and `collectgarbage`
** wrapped, and a copy of `vouch` two levels deep (so that a script changing
** `vouch.db.open` changes it for itself alone).
*/
void vouch_sandbox_env(lua_State *L) {
  int i, env;
  lua_newtable(L);
  env = lua_gettop(L);
  lua_pushglobaltable(L);
  for (i = 0; base_allowed[i]; i++) {
    lua_getfield(L, -1, base_allowed[i]);
    lua_setfield(L, env, base_allowed[i]);
  }
  for (i = 0; libs_copied[i]; i++) {
    lua_getfield(L, -1, libs_copied[i]);
    copy_table(L, -1);
    lua_remove(L, -2);
    if (i == 0) {
      lua_pushnil(L);
      lua_setfield(L, -2, "dump");
    }
    /* coroutine.resume and wrap come from loop.c, which patches the global
       table: they keep h->running on the coroutine that runs (so a limit
       stops it) and pass the host's yields through to the task. */
    lua_setfield(L, env, libs_copied[i]);
  }
  lua_newtable(L);
  lua_getfield(L, -2, "os");
  for (i = 0; os_allowed[i]; i++) {
    lua_getfield(L, -1, os_allowed[i]);
    lua_setfield(L, -3, os_allowed[i]);
  }
  lua_pop(L, 1);
  lua_setfield(L, env, "os");
  lua_getfield(L, -1, "setmetatable");
  lua_pushcclosure(L, sb_setmetatable, 1);
  lua_setfield(L, env, "setmetatable");
  lua_pop(L, 1);  /* global table */

  lua_pushcfunction(L, sb_collectgarbage);
  lua_setfield(L, env, "collectgarbage");
  lua_pushcfunction(L, sb_pcall);
  lua_setfield(L, env, "pcall");
  lua_pushcfunction(L, sb_xpcall);
  lua_setfield(L, env, "xpcall");
  lua_pushcfunction(L, sb_getmetatable);
  lua_setfield(L, env, "getmetatable");
  lua_pushvalue(L, env);
  lua_pushcclosure(L, sb_load, 1);
  lua_setfield(L, env, "load");
  lua_pushvalue(L, env);
  lua_newtable(L);  /* loaded modules of this environment */
  lua_pushcclosure(L, sb_require, 2);
  lua_setfield(L, env, "require");
  lua_pushvalue(L, env);
  lua_setfield(L, env, "_G");

  lua_getfield(L, LUA_REGISTRYINDEX, "vouch.lib");
  copy_table(L, -1);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    if (lua_type(L, -1) == LUA_TTABLE) {
      copy_table(L, -1);
      lua_remove(L, -2);
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, -4);
    } else {
      lua_pop(L, 1);
    }
  }
  lua_remove(L, -2);
  lua_setfield(L, env, "vouch");
}
