/*
** fuzz_xlsx.c: arbitrary bytes as the parts of a workbook. The input is the
** sheet's XML, or, split at the first "\n--\n", the shared strings and then
** the sheet; the workbook, its relationships and its styles (a date style
** among them) are fixed. They are zipped with minizip and read with
** vouch.load.xlsx through rows() and into(). Errors are expected; crashes,
** leaks and hangs are not.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zip.h>

#include "vouch.h"

static vouch_host_t *h;
static char path[64];

static const char wb[] =
  "<workbook xmlns:r=\"r\"><workbookPr/><sheets><sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/>"
  "</sheets></workbook>";
static const char rels[] =
  "<Relationships><Relationship Id=\"rId1\" Type=\"x/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
  "<Relationship Id=\"rId2\" Type=\"x/sharedStrings\" Target=\"sharedStrings.xml\"/>"
  "</Relationships>";
static const char styles[] =
  "<styleSheet><numFmts><numFmt numFmtId=\"164\" formatCode=\"yyyy-mm-dd hh:mm\"/></numFmts>"
  "<cellXfs><xf numFmtId=\"0\"/><xf numFmtId=\"14\"/><xf numFmtId=\"164\"/><xf numFmtId=\"20\"/>"
  "</cellXfs></styleSheet>";
static const char sst[] = "<sst><si><t>id</t></si><si><r><t>a</t></r><r><t>b</t></r></si></sst>";

static const char script[] =
  "local p = ...\n"
  "pcall(function()\n"
  "  local s = vouch.load.xlsx(p)\n"
  "  if s then for _ in s:rows() do end end\n"
  "end)\n"
  "pcall(function()\n"
  "  local s = vouch.load.xlsx(p, {skip_bad = true})\n"
  "  if s then s:into(vouch.db.open(':memory:'), 't') end\n"
  "end)\n";

static void add(zipFile z, const char *name, const void *p, size_t n) {
  if (zipOpenNewFileInZip(z, name, NULL, NULL, 0, NULL, 0, NULL, Z_DEFLATED, 1) != ZIP_OK) abort();
  zipWriteInFileInZip(z, p, (unsigned)n);
  zipCloseFileInZip(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  zipFile z;
  const uint8_t *cut = NULL;
  char code[sizeof script + 128];
  size_t i;
  if (h == NULL) {
    vouch_opts_t o;
    memset(&o, 0, sizeof o);
    o.trusted = 1;
    o.max_memory = 256u << 20;
    o.db_path = ":memory:";
    h = vouch_host_new(&o);
    if (h == NULL) abort();
    h->no_watchdog = 1;
    snprintf(path, sizeof path, "/tmp/vouch-fuzz-xlsx-%d.xlsx", (int)getpid());
  }
  for (i = 0; i + 4 <= size; i++)
    if (memcmp(data + i, "\n--\n", 4) == 0) { cut = data + i; break; }
  if ((z = zipOpen64(path, 0)) == NULL) abort();
  add(z, "xl/workbook.xml", wb, sizeof wb - 1);
  add(z, "xl/_rels/workbook.xml.rels", rels, sizeof rels - 1);
  add(z, "xl/styles.xml", styles, sizeof styles - 1);
  if (cut) {
    add(z, "xl/sharedStrings.xml", data, (size_t)(cut - data));
    add(z, "xl/worksheets/sheet1.xml", cut + 4, size - (size_t)(cut - data) - 4);
  } else {
    add(z, "xl/sharedStrings.xml", sst, sizeof sst - 1);
    add(z, "xl/worksheets/sheet1.xml", data, size);
  }
  zipClose(z, NULL);
  snprintf(code, sizeof code, "return (function(...)\n%s\nend)('%s')", script, path);
  if (vouch_host_run_string(h, code, "=fuzz_xlsx") != VOUCH_EXIT_OK) abort();
  return 0;
}
