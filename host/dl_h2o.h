/*
** dl_h2o.h: <h2o.h> for a libh2o loaded on first use (dl_h2o.c, see dl.h),
** for serve.c. Its functions are stubs; the one piece of its data the
** header's macros name, the table of header tokens behind H2O_TOKEN_*, is
** reached through the loaded library instead of by linking.
*/
#ifndef VOUCH_DL_H2O_H
#define VOUCH_DL_H2O_H

#include <h2o.h>

#include "dl.h"

/* The library's h2o__tokens. Only a request holds a token, and there is no
** request before the library is loaded: NULL only if it cannot be. */
h2o_token_t *vouch_h2o_tokens(void);

#define h2o__tokens (vouch_h2o_tokens())

#endif
