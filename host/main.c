/*
** main.c: the command line. Parses options, picks a command from the one
** table below, and reports; the work is done by the host.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lualib.h>
#include <sqlite3.h>

#include "vouch.h"

#define DEFAULT_MEMORY "1G"
#define DEFAULT_TIMEOUT 600.0

typedef struct command {
  const char *name;
  int (*run)(vouch_opts_t *o, const struct command *c, int argc, char **argv);
  const char *module;   /* embedded Lua module that implements it, or NULL */
  const char *usage;
  const char *summary;
} command;

static int cmd_run(vouch_opts_t *o, const command *c, int argc, char **argv);
static int cmd_module(vouch_opts_t *o, const command *c, int argc, char **argv);
static int cmd_help(vouch_opts_t *o, const command *c, int argc, char **argv);
static int cmd_version(vouch_opts_t *o, const command *c, int argc, char **argv);
static int cmd_sched(vouch_opts_t *o, const command *c, int argc, char **argv);
static int cmd_repl(vouch_opts_t *o, const command *c, int argc, char **argv);

/* Every subcommand, in the order `vouch --help` lists them. */
static const command commands[] = {
  {"run", cmd_run, NULL, "run [OPTIONS] SCRIPT [ARGS...]",
   "run a Lua script as a task (arguments in `arg`)"},
  {"repl", cmd_repl, NULL, "repl [OPTIONS]",
   "the interactive Lua prompt (plain `vouch` on a terminal)"},
  {"vet", NULL, "vouch.cmd.vet", "vet DATA... [--rules SCRIPT] [--format table|json|csv] [--top N | --all] [--no-store]",
   "score partners with a scorecard, store the run, print them ranked"},
  {"explain", NULL, "vouch.cmd.explain", "explain PARTNER [--run N]",
   "every rule's outcome for one partner, with evidence"},
  {"runs", NULL, "vouch.cmd.runs", "runs [--limit N]", "list the stored scoring runs"},
  {"diff", NULL, "vouch.cmd.diff", "diff RUN_A RUN_B [--fail-on verdict|reject]",
   "compare two runs: verdict changes, score moves, dimension shifts"},
  {"test", NULL, "vouch.cmd.test", "test [PATH...] [--min-coverage PCT]",
   "run scorecard tests (*_test.lua) and report rule coverage"},
  {"report", NULL, "vouch.cmd.report",
   "report [--run N | --partner ID | --diff A B] [--out FILE] [--format html|md|json] [--open]",
   "write a run, a partner's history or a diff as an HTML, Markdown or JSON report"},
  {"cron", NULL, "vouch.cmd.cron", "cron next 'EXPR' [--from TIME] [--count N] [--tz ZONE]",
   "print when a schedule expression fires"},
  {"schedule", cmd_sched, "vouch.cmd.schedule",
   "schedule add|list|rm|pause|resume|run|history|tick ...",
   "manage scheduled runs of scripts (see 'vouch help schedule')"},
  {"daemon", cmd_sched, NULL, "daemon [--poll MS] [--grace S] [--max-running N] [--clock FILE] [--log FILE]",
   "run due schedules until stopped (SIGTERM/SIGINT)"},
  {"cache", NULL, "vouch.cmd.cache", "cache [--limit N] | cache prune --older-than DAYS | --all",
   "show or prune the HTTP responses kept for revalidation (cache = true)"},
  {"help", cmd_help, NULL, "help [COMMAND]", "show help for a command"},
  {"version", cmd_version, NULL, "version", "print the versions of vouch and its libraries"},
  {NULL, NULL, NULL, NULL, NULL}
};

static const char options_help[] =
  "Options (before the script or anywhere for other commands):\n"
  "  --db FILE            the database (default: $VOUCH_DB or ./vouch.db)\n"
  "  --max-memory SIZE    memory limit for scripts, e.g. 256M (default " DEFAULT_MEMORY ")\n"
  "  --timeout SECONDS    wall-time limit for a run, 0 for none (default 600); in the\n"
  "                       REPL for each statement and the tasks it spawns, which\n"
  "                       are cancelled when it runs out\n"
  "  --allow-read=PATHS   readable files and directories, comma-separated\n"
  "                       (default: the script's directory and the working directory)\n"
  "  --allow-write=PATHS  writable files and directories (default: none but the database)\n"
  "  --allow-net=HOSTS    hosts scripts may reach over HTTP (default: none; * for any)\n"
  "  --allow-env=NAMES    environment variables vouch.env may read (default: none);\n"
  "                       their values are shown as *** in errors, logs and runs\n"
  "  --trusted            run with the full standard library and no capability checks\n"
  "  -e CODE              run CODE instead of a script\n"
  "\n"
  "Exit codes:\n"
  "  0  success\n"
  "  1  a script failed to load or raised an error\n"
  "  2  usage error\n"
  "  3  a limit was exceeded (memory, time, stack)\n"
  "  4  the database could not be opened or upgraded\n"
  "  5  a check failed (vouch test)\n"
  "  6  another daemon is running on the database (vouch daemon)\n";


static void usage(FILE *f) {
  const command *c;
  fprintf(f, "usage: vouch [OPTIONS] COMMAND [ARGS...]\n"
             "       vouch [OPTIONS] SCRIPT [ARGS...]\n"
             "       vouch [OPTIONS] -e CODE\n\nCommands:\n");
  for (c = commands; c->name; c++) fprintf(f, "  %-10s %s\n", c->name, c->summary);
  fprintf(f, "\n%s", options_help);
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
      fprintf(stderr, "vouch: unknown option '%s'\nusage: vouch %s\n", argv[i], c->usage);
      return VOUCH_EXIT_USAGE;
    }
  }
  if (i >= argc) {
    fprintf(stderr, "vouch: no script given\nusage: vouch %s\n", c->usage);
    return VOUCH_EXIT_USAGE;
  }
  if ((h = new_host(o)) == NULL) return VOUCH_EXIT_SCRIPT;
  status = vouch_host_run_file(h, argv[i], argc - i - 1, argv + i + 1);
  if (vouch_host_free(h) == VOUCH_EXIT_LIMIT) status = VOUCH_EXIT_LIMIT;
  return status;
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


/* A command implemented in Lua: host options anywhere, the rest to the module. */
static int cmd_module(vouch_opts_t *o, const command *c, int argc, char **argv) {
  vouch_host_t *h;
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int i, n = 0, status;
  char *writable = NULL;
  const char *allow_write = o->allow_write;
  if (rest == NULL) return VOUCH_EXIT_SCRIPT;
  for (i = 0; i < argc; i++) {
    int r = strcmp(argv[i], "--") == 0 ? 0 : host_option(o, argc, argv, &i);
    if (r < 0) { free(rest); return VOUCH_EXIT_USAGE; }
    if (r == 0) rest[n++] = argv[i];
  }
  if (out_writable(o, n, rest, &writable) != 0) { free(rest); return VOUCH_EXIT_SCRIPT; }
  h = new_host(o);
  o->allow_write = allow_write;  /* the host keeps its own resolved copy */
  free(writable);
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
  if ((rest = calloc((size_t)argc + 1, sizeof *rest)) == NULL) return VOUCH_EXIT_SCRIPT;
  for (i = 0; i < argc; i++) {
    int r = host_option(o, argc, argv, &i);
    if (r < 0) { free(rest); return VOUCH_EXIT_USAGE; }
    if (r == 0) rest[n++] = argv[i];
  }
  status = vouch_sched_command(o, sub, n, rest);
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
      fprintf(stderr, "vouch: unknown argument '%s'\nusage: vouch %s\n", argv[i], c->usage);
      return VOUCH_EXIT_USAGE;
    }
  }
  if ((h = new_host(o)) == NULL) return VOUCH_EXIT_SCRIPT;
  status = vouch_repl(h);
  if (vouch_host_free(h) == VOUCH_EXIT_LIMIT) status = VOUCH_EXIT_LIMIT;
  return status;
}


static int cmd_help(vouch_opts_t *o, const command *c, int argc, char **argv) {
  const command *t;
  (void)o; (void)c;
  if (argc == 0) {
    usage(stdout);
    return VOUCH_EXIT_OK;
  }
  if ((t = find_command(argv[0])) == NULL) {
    fprintf(stderr, "vouch: no command '%s' (see 'vouch --help')\n", argv[0]);
    return VOUCH_EXIT_USAGE;
  }
  printf("usage: vouch %s\n\n%s\n", t->usage, t->summary);
  if (t->module) {
    /* The module's own help: its `help` field, when it has one. */
    vouch_opts_t ho = {0};
    vouch_host_t *h = new_host(&ho);
    if (h) {
      char *args[] = {"--help"};
      vouch_host_run_module(h, t->module, 1, args);
      vouch_host_free(h);
    }
  }
  printf("\n%s", options_help);
  return VOUCH_EXIT_OK;
}


static int cmd_version(vouch_opts_t *o, const command *c, int argc, char **argv) {
  (void)o; (void)c; (void)argc; (void)argv;
  printf("vouch %s\n%s\nSQLite %s\nlibuv %s\n", VOUCH_VERSION, LUA_RELEASE,
         sqlite3_libversion(), uv_version_string());
  return VOUCH_EXIT_OK;
}


int main(int argc, char **argv) {
  vouch_opts_t o;
  const command *c;
  int i;
  memset(&o, 0, sizeof o);
  vouch_parse_size(DEFAULT_MEMORY, &o.max_memory);
  o.timeout = DEFAULT_TIMEOUT;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    int r;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return VOUCH_EXIT_OK;
    }
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
    if (r == 0) {
      fprintf(stderr, "vouch: unknown option '%s' (see 'vouch --help')\n", a);
      return VOUCH_EXIT_USAGE;
    }
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
    fprintf(stderr, "vouch: unknown command '%s' (see 'vouch --help')\n", argv[i]);
    return VOUCH_EXIT_USAGE;
  }
  if (c->run == NULL) return cmd_module(&o, c, argc - i - 1, argv + i + 1);
  return c->run(&o, c, argc - i - 1, argv + i + 1);
}
