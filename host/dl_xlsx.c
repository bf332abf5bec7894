/*
** dl_xlsx.c: the workbook libraries, loaded on the first call into them
** (see dl.h): minizip and expat to read (load_xlsx.c), libxlsxwriter to
** write (xlsx.c); libxlsxwriter brings libcrypto, the largest of all.
*/
#include <expat.h>
#include <unzip.h>
#include <xlsxwriter.h>

#include "dl.h"

#define EXPAT_FUNCTIONS(X, V, N) \
  X(expat, XML_Parser, XML_ParserCreate, (const XML_Char *enc), (enc), NULL) \
  V(expat, XML_ParserFree, (XML_Parser p), (p)) \
  V(expat, XML_SetUserData, (XML_Parser p, void *u), (p, u)) \
  V(expat, XML_SetElementHandler, \
    (XML_Parser p, XML_StartElementHandler s, XML_EndElementHandler e), (p, s, e)) \
  V(expat, XML_SetCharacterDataHandler, (XML_Parser p, XML_CharacterDataHandler h), (p, h)) \
  V(expat, XML_SetStartDoctypeDeclHandler, (XML_Parser p, XML_StartDoctypeDeclHandler h), \
    (p, h)) \
  X(expat, enum XML_Status, XML_Parse, (XML_Parser p, const char *s, int len, int final), \
    (p, s, len, final), XML_STATUS_ERROR) \
  X(expat, enum XML_Status, XML_StopParser, (XML_Parser p, XML_Bool resumable), \
    (p, resumable), XML_STATUS_ERROR) \
  X(expat, enum XML_Error, XML_GetErrorCode, (XML_Parser p), (p), XML_ERROR_NO_MEMORY) \
  X(expat, XML_Size, XML_GetCurrentLineNumber, (XML_Parser p), (p), 0) \
  X(expat, XML_Size, XML_GetCurrentColumnNumber, (XML_Parser p), (p), 0) \
  X(expat, const XML_LChar *, XML_ErrorString, (enum XML_Error c), (c), "expat is not loaded")

#define MINIZIP_FUNCTIONS(X, V, N) \
  X(minizip, unzFile, unzOpen2_64, (const void *path, zlib_filefunc64_def *ff), (path, ff), \
    NULL) \
  X(minizip, int, unzLocateFile, (unzFile f, const char *name, int cs), (f, name, cs), \
    UNZ_INTERNALERROR) \
  X(minizip, int, unzOpenCurrentFile, (unzFile f), (f), UNZ_INTERNALERROR) \
  X(minizip, int, unzReadCurrentFile, (unzFile f, voidp buf, unsigned len), (f, buf, len), \
    UNZ_INTERNALERROR) \
  X(minizip, int, unzCloseCurrentFile, (unzFile f), (f), UNZ_INTERNALERROR) \
  X(minizip, int, unzClose, (unzFile f), (f), UNZ_INTERNALERROR)

#define XLSXWRITER_FUNCTIONS(X, V, N) \
  X(xlsxwriter, lxw_workbook *, workbook_new_opt, \
    (const char *path, lxw_workbook_options *o), (path, o), NULL) \
  X(xlsxwriter, lxw_worksheet *, workbook_add_worksheet, (lxw_workbook *wb, const char *name), \
    (wb, name), NULL) \
  X(xlsxwriter, lxw_error, workbook_validate_sheet_name, (lxw_workbook *wb, const char *name), \
    (wb, name), LXW_ERROR_MEMORY_MALLOC_FAILED) \
  X(xlsxwriter, lxw_format *, workbook_add_format, (lxw_workbook *wb), (wb), NULL) \
  X(xlsxwriter, lxw_error, workbook_close, (lxw_workbook *wb), (wb), \
    LXW_ERROR_MEMORY_MALLOC_FAILED) \
  V(xlsxwriter, format_set_bold, (lxw_format *f), (f)) \
  X(xlsxwriter, lxw_error, worksheet_write_string, \
    (lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const char *s, lxw_format *f), \
    (ws, r, c, s, f), LXW_ERROR_MEMORY_MALLOC_FAILED) \
  X(xlsxwriter, lxw_error, worksheet_write_number, \
    (lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, double n, lxw_format *f), \
    (ws, r, c, n, f), LXW_ERROR_MEMORY_MALLOC_FAILED) \
  X(xlsxwriter, lxw_error, worksheet_write_boolean, \
    (lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, int b, lxw_format *f), \
    (ws, r, c, b, f), LXW_ERROR_MEMORY_MALLOC_FAILED) \
  X(xlsxwriter, lxw_error, worksheet_set_column, \
    (lxw_worksheet *ws, lxw_col_t first, lxw_col_t last, double width, lxw_format *f), \
    (ws, first, last, width, f), LXW_ERROR_MEMORY_MALLOC_FAILED) \
  V(xlsxwriter, worksheet_freeze_panes, (lxw_worksheet *ws, lxw_row_t r, lxw_col_t c), \
    (ws, r, c)) \
  X(xlsxwriter, char *, lxw_strerror, (lxw_error e), (e), "libxlsxwriter is not loaded")

VOUCH_DL_LIBRARY(expat, "libexpat.so.1", EXPAT_FUNCTIONS)
VOUCH_DL_STUBS(EXPAT_FUNCTIONS)
VOUCH_DL_LIBRARY(minizip, "libminizip.so.1", MINIZIP_FUNCTIONS)
VOUCH_DL_STUBS(MINIZIP_FUNCTIONS)
VOUCH_DL_LIBRARY(xlsxwriter, "libxlsxwriter.so.4", XLSXWRITER_FUNCTIONS)
VOUCH_DL_STUBS(XLSXWRITER_FUNCTIONS)
