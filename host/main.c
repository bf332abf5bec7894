/*
** main.c: the command line. Parses options, picks a command from the one
** table below, and reports; the work is done by the host.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lualib.h>
#include <sqlite3.h>

#ifdef __linux__
#include <sys/prctl.h>
#endif
#include "vouch.h"
#include "record_pg.h"

#define DEFAULT_MEMORY "1G"
#define DEFAULT_TIMEOUT 600.0

/* What runs each command; what it is and takes is in stdlib/cmd/commands.lua
   (tests/cli/manners.sh checks that the two name the same commands). */
typedef struct command {
  const char *name;
  int (*run)(vouch_opts_t *o, const struct command *c, int argc, char **argv);
  const char *module;   /* embedded Lua module that implements it, or NULL */
  int reads;            /* only reads the database: never creates one */
} command;

static int cmd_run(vouch_opts_t *o, const command *c, int argc, char **argv);
static int cmd_help(vouch_opts_t *o, const command *c, int argc, char **argv);
static int cmd_version(vouch_opts_t *o, const command *c, int argc, char **argv);
static int cmd_sched(vouch_opts_t *o, const command *c, int argc, char **argv);
static int cmd_repl(vouch_opts_t *o, const command *c, int argc, char **argv);

static const command commands[] = {
  {"run", cmd_run, NULL, 0},
  {"repl", cmd_repl, NULL, 0},
  {"vet", NULL, "vouch.cmd.vet", 0},
  {"explain", NULL, "vouch.cmd.explain", 1},
  {"runs", NULL, "vouch.cmd.runs", 1},
  {"diff", NULL, "vouch.cmd.diff", 1},
  {"test", NULL, "vouch.cmd.test", 0},
  {"report", NULL, "vouch.cmd.report", 1},
  {"serve", NULL, "vouch.cmd.serve", 1},
  {"cron", NULL, "vouch.cmd.cron", 0},
  {"schedule", cmd_sched, "vouch.cmd.schedule", 0},
  {"daemon", cmd_sched, NULL, 0},
  {"prune", NULL, "vouch.cmd.prune", 0},
  {"cache", NULL, "vouch.cmd.cache", 0},
  {"completion", NULL, "vouch.cmd.completion", 0},
  {"help", cmd_help, NULL, 0},
  {"version", cmd_version, NULL, 0},
  {NULL, NULL, NULL, 0}
};


/*
** The table of commands, options, usage lines, help text and examples is
** one Lua module, stdlib/cmd/commands.lua: every help page comes from it,
** and the commands done here ask it to word their usage errors (with the
** closest option) and to check their options. Runs it with `args`.
*/
static int commands_lua(int n, char **args) {
  vouch_opts_t ho;
  vouch_host_t *h;
  int status;
  memset(&ho, 0, sizeof ho);
  fflush(stdout);
  if ((h = vouch_host_new(&ho)) == NULL) {
    fprintf(stderr, "vouch: cannot create the host\n");
    return VOUCH_EXIT_SCRIPT;
  }
  status = vouch_host_run_module(h, "vouch.cmd.commands", n, args);
  vouch_host_free(h);
  fflush(stdout);
  return status;
}


/* `vouch help NAME [SUB]`, the same page as `NAME [SUB] --help`. */
static int show_help(const char *name, const char *sub) {
  char *args[] = {"help", (char *)name, (char *)sub};
  return commands_lua(name == NULL ? 1 : sub == NULL ? 2 : 3, args);
}


/* An option the command `path` ("" before any) does not take: exit 2. */
static int unknown_option(const char *path, const char *opt) {
  char *args[] = {"unknown", (char *)path, (char *)opt};
  commands_lua(3, args);
  return VOUCH_EXIT_USAGE;
}


/* Is there a --help or -h among the first n arguments (before any "--")? */
static int wants_help(int n, char **argv) {
  int i;
  for (i = 0; i < n; i++) {
    if (strcmp(argv[i], "--") == 0) return 0;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
  }
  return 0;
}


static const command *find_command(const char *name) {
  const command *c;
  for (c = commands; c->name; c++)
    if (strcmp(c->name, name) == 0) return c;
  return NULL;
}


/*
** Take one host option at argv[*i] into `o`. Returns 1 if it was one, 0 if
** not, -1 on a bad value (reported).
*/
static int host_option(vouch_opts_t *o, int argc, char **argv, int *i) {
  const char *a = argv[*i], *v = NULL;
  size_t n;
  static const char *const with_value[] = {
    "--db", "--max-memory", "--timeout", "--allow-read", "--allow-write", "--allow-net",
    "--allow-env", NULL
  };
  int k;
  if (strcmp(a, "--trusted") == 0) { o->trusted = 1; return 1; }
  if (strcmp(a, "--verbose") == 0) { o->verbose = 1; return 1; }
  if (strncmp(a, "--color", 7) == 0 && (a[7] == '\0' || a[7] == '=')) {
    static const char *const modes[] = { "auto", "always", "never", NULL };
    const char *m = a[7] == '=' ? a + 8 : "always";  /* --color alone, as ls */
    for (k = 0; modes[k] && strcmp(modes[k], m) != 0; k++) {}
    if (modes[k] == NULL) {
      fprintf(stderr, "vouch: bad --color '%s' (auto, always or never)\n", m);
      return -1;
    }
    o->color = k;
    return 1;
  }
  for (k = 0; with_value[k]; k++) {
    n = strlen(with_value[k]);
    if (strncmp(a, with_value[k], n) != 0) continue;
    if (a[n] == '=') v = a + n + 1;
    else if (a[n] == '\0') {
      if (*i + 1 >= argc) {
        fprintf(stderr, "vouch: option '%s' needs a value\n", a);
        return -1;
      }
      v = argv[++*i];
    } else continue;
    break;
  }
  if (with_value[k] == NULL) return 0;
  switch (k) {
    case 0: o->db_path = v; break;
    case 1:
      if (vouch_parse_size(v, &o->max_memory) != 0) {
        fprintf(stderr, "vouch: bad --max-memory '%s' (use bytes or 64M, 1G)\n", v);
        return -1;
      }
      break;
    case 2: {
      char *end;
      o->timeout = strtod(v, &end);
      if (end == v || *end != '\0' || o->timeout < 0) {
        fprintf(stderr, "vouch: bad --timeout '%s' (seconds)\n", v);
        return -1;
      }
      break;
    }
    case 3: o->allow_read = v; break;
    case 4: o->allow_write = v; break;
    case 5: o->allow_net = v; break;
    case 6: {
      /* names only: a value never goes on a command line */
      const char *p = v;
      while (*p) {
        size_t len = strcspn(p, ",");
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(len < 255 ? len : 255), p);
        if (len > 0 && (len > 255 || !vouch_env_name_ok(name))) {
          fprintf(stderr, "vouch: bad --allow-env '%s' ('%s' is not a variable name: "
                          "letters, digits and _)\n", v, name);
          return -1;
        }
        p += len;
        if (*p == ',') p++;
      }
      o->allow_env = v;
      break;
    }
  }
  return 1;
}


static vouch_host_t *new_host(vouch_opts_t *o) {
  vouch_host_t *h = vouch_host_new(o);
  if (h == NULL) fprintf(stderr, "vouch: cannot create the host\n");
  return h;
}


/* vouch run [OPTIONS] SCRIPT [ARGS...] (options already taken by main) */
static int cmd_run(vouch_opts_t *o, const command *c, int argc, char **argv) {
  vouch_host_t *h;
  int i = 0, status;
  for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
    int r = host_option(o, argc, argv, &i);
    if (r < 0) return VOUCH_EXIT_USAGE;
    if (r == 0) {
      if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
        return show_help(c->name, NULL);
      return unknown_option(c->name, argv[i]);
    }
  }
  if (i >= argc) {
    fprintf(stderr, "vouch: run: no script given\nusage: vouch run [GLOBAL OPTIONS] SCRIPT [ARGS...]\n"
                    "see 'vouch help run'\n");
    return VOUCH_EXIT_USAGE;
  }
  if ((h = new_host(o)) == NULL) return VOUCH_EXIT_SCRIPT;
  status = vouch_host_run_file(h, argv[i], argc - i - 1, argv + i + 1);
  if (vouch_host_free(h) == VOUCH_EXIT_LIMIT) status = VOUCH_EXIT_LIMIT;
  return status;
}


/*
** Before a command opens the database: one in a folder that does not exist,
** or that is a folder, is an error that says so (exit 4), and a command
** that only reads it (`readonly`) never creates one: a missing file is an
** error too.
*/
static int db_ready(const vouch_opts_t *o, const char *cmd, int readonly) {
  const char *db = o->db_path ? o->db_path : getenv("VOUCH_DB");
  struct stat st;
  char dir[4096];
  const char *slash;
  if (db == NULL || *db == '\0') db = "vouch.db";
  if (strcmp(db, ":memory:") == 0) return 0;
  if (vouch_pgrec_is_uri(db)) return 0;  /* the server says what it lacks */
  if (stat(db, &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return 0;
    fprintf(stderr, "vouch: %s: cannot open the database %s: it is a folder\n"
                    "hint: name a file in it, e.g. --db %s/vouch.db\n", cmd, db, db);
    return VOUCH_EXIT_DB;
  }
  if (errno != ENOENT) {
    fprintf(stderr, "vouch: %s: cannot open the database %s: %s\n", cmd, db, strerror(errno));
    return VOUCH_EXIT_DB;
  }
  slash = strrchr(db, '/');
  snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - db) + (slash == db) : 1, slash ? db : ".");
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "vouch: %s: cannot open the database %s: there is no folder %s\n"
                    "hint: create the folder, or give another --db FILE\n", cmd, db, dir);
    return VOUCH_EXIT_DB;
  }
  if (readonly) {
    fprintf(stderr, "vouch: %s: no database %s: nothing has been stored there yet (%s "
                    "creates none)\n"
                    "hint: %s with 'vouch %s%s%s%s', or give the --db that has them\n",
            cmd, db, cmd, strncmp(cmd, "schedule", 8) == 0 ? "add a schedule" : "score partners first",
            o->db_path ? "--db " : "", o->db_path ? o->db_path : "", o->db_path ? " " : "",
            strncmp(cmd, "schedule", 8) == 0 ? "schedule add NAME 'EXPR' SCRIPT" : "vet DATA");
    return VOUCH_EXIT_DB;
  }
  return 0;
}


/*
** A Lua command's `--out FILE` is the user naming a file to write, so it
** becomes writable without --allow-write: FILE itself, and FILE's stem
** with "_files" (report_files/ beside report.md) for what goes with it.
** Sets *buf to the new allow list (the caller frees it after the host is
** made), points o->allow_write at it and o->out at FILE (the one file
** vouch.file.show may open). Returns -1 when out of memory.
*/
static int out_writable(vouch_opts_t *o, int argc, char **argv, char **buf) {
  const char *out = NULL;
  const char *dot, *slash;
  size_t stem, len;
  int i;
  for (i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) out = argv[++i];
    else if (strncmp(argv[i], "--out=", 6) == 0) out = argv[i] + 6;
  }
  if (out == NULL || *out == '\0' || strcmp(out, "-") == 0 || strchr(out, ',')) return 0;
  dot = strrchr(out, '.');
  slash = strrchr(out, '/');
  stem = dot && dot > out && (slash == NULL || dot > slash + 1) ? (size_t)(dot - out) : strlen(out);
  len = (o->allow_write ? strlen(o->allow_write) + 1 : 0) + strlen(out) + 1 + stem + 7;
  if ((*buf = malloc(len)) == NULL) return -1;
  snprintf(*buf, len, "%s%s%s,%.*s_files", o->allow_write ? o->allow_write : "",
           o->allow_write ? "," : "", out, (int)stem, out);
  o->allow_write = *buf;
  o->out = out;
  return 0;
}


/*
** A command's `--bind ADDR` is the user naming an address to serve on, so
** it becomes reachable without --allow-net. Sets *buf as out_writable does.
*/
static int bind_reachable(vouch_opts_t *o, int argc, char **argv, char **buf) {
  const char *addr = NULL;
  size_t len;
  int i;
  for (i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc) addr = argv[++i];
    else if (strncmp(argv[i], "--bind=", 7) == 0) addr = argv[i] + 7;
  }
  if (addr == NULL || *addr == '\0' || strchr(addr, ',')) return 0;
  len = (o->allow_net ? strlen(o->allow_net) + 1 : 0) + strlen(addr) + 1;
  if ((*buf = malloc(len)) == NULL) return -1;
  snprintf(*buf, len, "%s%s%s", o->allow_net ? o->allow_net : "", o->allow_net ? "," : "", addr);
  o->allow_net = *buf;
  return 0;
}


/* A command implemented in Lua: host options anywhere, the rest to the module. */
static int cmd_module(vouch_opts_t *o, const command *c, int argc, char **argv) {
  vouch_host_t *h;
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int i, n = 0, status;
  char *writable = NULL, *reachable = NULL;
  const char *allow_write = o->allow_write, *allow_net = o->allow_net;
  if (rest == NULL) return VOUCH_EXIT_SCRIPT;
  for (i = 0; i < argc; i++) {
    int r = strcmp(argv[i], "--") == 0 ? 0 : host_option(o, argc, argv, &i);
    if (r < 0) { free(rest); return VOUCH_EXIT_USAGE; }
    if (r == 0) rest[n++] = argv[i];
  }
  if (!wants_help(n, rest) && (c->reads || strcmp(c->name, "vet") == 0 ||
                               strcmp(c->name, "schedule") == 0 || strcmp(c->name, "prune") == 0)) {
    /* prune removes from a record; with none there is nothing to create */
    int ro = c->reads || strcmp(c->name, "prune") == 0 ||
             (strcmp(c->name, "schedule") == 0 && n > 0 &&
              (strcmp(rest[0], "list") == 0 || strcmp(rest[0], "history") == 0 ||
               strcmp(rest[0], "alerts") == 0));
    int first = !c->reads && n > 0 && strcmp(c->name, "prune") != 0;  /* named in messages */
    char what[64];
    int st;
    snprintf(what, sizeof what, "%s%s%s", c->name, first ? " " : "", first ? rest[0] : "");
    st = 0;
    if (ro) {
      /* a usage error is told before a missing database (exit 2), as the
         command itself would */
      char **chk = calloc((size_t)n + 3, sizeof *chk);
      int k, m = strcmp(c->name, "schedule") == 0;  /* a subcommand comes first */
      if (chk == NULL) { free(rest); return VOUCH_EXIT_SCRIPT; }
      chk[0] = "check";
      chk[1] = (char *)c->name;
      chk[2] = m ? rest[0] : "";
      for (k = m; k < n; k++) chk[3 + k - m] = rest[k];
      st = commands_lua(3 + n - m, chk);
      free(chk);
    }
    if (st == 0) st = db_ready(o, what, ro);
    if (st != 0) { free(rest); return st; }
  }
  if (out_writable(o, n, rest, &writable) != 0 || bind_reachable(o, n, rest, &reachable) != 0) {
    free(writable);
    free(rest);
    return VOUCH_EXIT_SCRIPT;
  }
  /* vet only scores: on a server it stages its run in a file of its own */
  o->record_stage = strcmp(c->name, "vet") == 0;
  h = new_host(o);
  o->allow_write = allow_write;  /* the host keeps its own resolved copies */
  o->allow_net = allow_net;
  free(writable);
  free(reachable);
  if (h == NULL) { free(rest); return VOUCH_EXIT_SCRIPT; }
  /* The command may read the files named on its command line (DATA, --rules
     FILE, --rules=FILE), whatever --allow-read says. */
  vouch_set_script_dir(h, "./x");
  for (i = 0; i < n; i++) {
    const char *v = rest[i], *eq = strchr(v, '=');
    if (v[0] == '-' && eq == NULL) continue;
    vouch_allow_read_path(h, v[0] == '-' ? eq + 1 : v);
  }
  status = vouch_host_run_module(h, c->module, n, rest);
  if (vouch_host_free(h) == VOUCH_EXIT_LIMIT) status = VOUCH_EXIT_LIMIT;
  free(rest);
  return status;
}


/*
** The scheduler's engine is C (sched.c): `vouch daemon`, and `vouch schedule
** run|tick`; the other `schedule` subcommands are the Lua module.
*/
static int cmd_sched(vouch_opts_t *o, const command *c, int argc, char **argv) {
  char **rest;
  int i, n = 0, status;
  const char *sub = c->module ? (argc > 0 ? argv[0] : "") : c->name;
  if (c->module && strcmp(sub, "run") != 0 && strcmp(sub, "tick") != 0)
    return cmd_module(o, c, argc, argv);
  if (c->module) { argc--; argv++; }
  if (wants_help(argc, argv)) return show_help(c->name, c->module ? sub : NULL);
  if ((rest = calloc((size_t)argc + 4, sizeof *rest)) == NULL) return VOUCH_EXIT_SCRIPT;
  /* rest: "check", command, subcommand, then the arguments that are not
     host options, which the table checks before sched.c takes them */
  rest[0] = "check";
  rest[1] = (char *)c->name;
  rest[2] = c->module ? (char *)sub : "";
  for (i = 0; i < argc; i++) {
    int r = host_option(o, argc, argv, &i);
    if (r < 0) { free(rest); return VOUCH_EXIT_USAGE; }
    if (r == 0) rest[3 + n++] = argv[i];
  }
  status = commands_lua(n + 3, rest);
  if (status == VOUCH_EXIT_OK) status = vouch_sched_command(o, sub, n, rest + 3);
  free(rest);
  return status;
}


/* vouch repl [OPTIONS]: host options only; the REPL does the rest. */
static int cmd_repl(vouch_opts_t *o, const command *c, int argc, char **argv) {
  vouch_host_t *h;
  int i, status;
  for (i = 0; i < argc; i++) {
    int r = host_option(o, argc, argv, &i);
    if (r < 0) return VOUCH_EXIT_USAGE;
    if (r == 0) {
      if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
        return show_help(c->name, NULL);
      if (argv[i][0] == '-') return unknown_option(c->name, argv[i]);
      fprintf(stderr, "vouch: repl: unexpected argument '%s' (the REPL takes none)\n"
                      "usage: vouch repl [GLOBAL OPTIONS]\n", argv[i]);
      return VOUCH_EXIT_USAGE;
    }
  }
  if ((h = new_host(o)) == NULL) return VOUCH_EXIT_SCRIPT;
  status = vouch_repl(h);
  if (vouch_host_free(h) == VOUCH_EXIT_LIMIT) status = VOUCH_EXIT_LIMIT;
  return status;
}


static int cmd_help(vouch_opts_t *o, const command *c, int argc, char **argv) {
  (void)o; (void)c;
  if (argc > 0 && wants_help(1, argv)) return show_help("help", NULL);
  if (argc == 1 && (strcmp(argv[0], "--names") == 0 || strcmp(argv[0], "--man") == 0)) {
    char *args[] = {argv[0] + 2};  /* "names", "man" */
    return commands_lua(1, args);
  }
  if (argc > 2 || (argc > 0 && argv[0][0] == '-')) return unknown_option("help", argv[argc > 2 ? 2 : 0]);
  return show_help(argc > 0 ? argv[0] : NULL, argc > 1 ? argv[1] : NULL);
}


static int cmd_version(vouch_opts_t *o, const command *c, int argc, char **argv) {
  (void)o; (void)c;
  if (argc > 0 && wants_help(1, argv)) return show_help("version", NULL);
  if (argc > 0) return unknown_option("version", argv[0]);
  printf("vouch %s\n%s\nSQLite %s\nlibuv %s\n", VOUCH_VERSION, LUA_RELEASE,
         sqlite3_libversion(), uv_version_string());
  return VOUCH_EXIT_OK;
}


/*
** A schedule's run ends with the daemon that started it: killed with -9,
** the daemon leaves no run behind that another daemon then runs again.
** The variable is the daemon's pid; a run whose daemon is already gone
** does not start. Its own children do not inherit it.
*/
static void die_with_daemon(void) {
  const char *d = getenv("VOUCH_SCHEDULE_DAEMON");
  long pid;
  if (d == NULL) return;
  pid = atol(d);
  unsetenv("VOUCH_SCHEDULE_DAEMON");
#ifdef __linux__
  prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
  if (pid > 0 && getppid() != (pid_t)pid) _exit(VOUCH_EXIT_SCRIPT);
}

int main(int argc, char **argv) {
  vouch_opts_t o;
  const command *c;
  int i;
  die_with_daemon();
  memset(&o, 0, sizeof o);
  vouch_parse_size(DEFAULT_MEMORY, &o.max_memory);
  o.timeout = DEFAULT_TIMEOUT;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    int r;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return show_help(NULL, NULL);
    if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0)
      return cmd_version(&o, NULL, 0, NULL);
    if (strcmp(a, "-e") == 0) {
      vouch_host_t *h;
      int status;
      if (i + 1 >= argc) {
        fprintf(stderr, "vouch: '-e' needs an argument\n");
        return VOUCH_EXIT_USAGE;
      }
      if ((h = new_host(&o)) == NULL) return VOUCH_EXIT_SCRIPT;
      vouch_set_script_dir(h, "./-e");
      status = vouch_host_run_string(h, argv[i + 1], "=(command line)");
      if (vouch_host_free(h) == VOUCH_EXIT_LIMIT) status = VOUCH_EXIT_LIMIT;
      return status;
    }
    if (a[0] != '-' || a[1] == '\0') break;
    r = host_option(&o, argc, argv, &i);
    if (r < 0) return VOUCH_EXIT_USAGE;
    if (r == 0) return unknown_option("", a);
  }
  if (i >= argc) {
    c = find_command(isatty(0) ? "repl" : "run");
    if (c == NULL || c->run == cmd_run) {
      char *stdin_args[] = {"/dev/stdin"};
      return cmd_run(&o, find_command("run"), 1, stdin_args);
    }
    return c->run(&o, c, 0, argv + i);
  }
  c = find_command(argv[i]);
  if (c == NULL) {
    /* `vouch script.lua` is `vouch run script.lua` */
    if (strchr(argv[i], '.') || strchr(argv[i], '/'))
      return cmd_run(&o, find_command("run"), argc - i, argv + i);
    {
      char *args[] = {"command", argv[i]};  /* says so, with the closest */
      commands_lua(2, args);
    }
    return VOUCH_EXIT_USAGE;
  }
  if (c->run == NULL) return cmd_module(&o, c, argc - i - 1, argv + i + 1);
  return c->run(&o, c, argc - i - 1, argv + i + 1);
}
