/*
** dl.c: load a library on first use (see dl.h).
*/
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "dl.h"

static pthread_mutex_t dl_lock = PTHREAD_MUTEX_INITIALIZER;

/* Called with dl_lock held: open lib and fill its table, or say why not. */
static int dl_open(vouch_dl_t *lib) {
  void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
  int i;
  if (h == NULL) {
    snprintf(lib->error, sizeof lib->error, "%s", dlerror());
    return -1;
  }
  for (i = 0; i < lib->n; i++) {
    /* POSIX guarantees a data pointer from dlsym converts to a function's. */
    if ((lib->fns[i] = (vouch_dl_fn)dlsym(h, lib->names[i])) == NULL) {
      snprintf(lib->error, sizeof lib->error, "%s: no function %s (too old?)",
               lib->soname, lib->names[i]);
      dlclose(h);
      return -1;
    }
  }
  return 1;
}

int vouch_dl_load(vouch_dl_t *lib) {
  int s = atomic_load_explicit(&lib->state, memory_order_acquire);
  if (s == 0) {
    pthread_mutex_lock(&dl_lock);
    if ((s = atomic_load_explicit(&lib->state, memory_order_relaxed)) == 0)
      atomic_store_explicit(&lib->state, s = dl_open(lib), memory_order_release);
    pthread_mutex_unlock(&dl_lock);
  }
  return s == 1 ? 0 : -1;
}
