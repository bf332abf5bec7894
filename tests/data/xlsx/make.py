"""Workbooks for the xlsx tests, hostile ones among them, written part by
part with zipfile: make.py KIND OUT.xlsx."""
import sys, zipfile

CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
      'package/2006/content-types"/>')
WB = ('<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
      'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
      '<workbookPr/><sheets><sheet name="Partners" sheetId="1" r:id="rId1"/>'
      '<sheet name="Other" sheetId="2" r:id="rId2"/></sheets></workbook>')
RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet2.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        '<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        '</Relationships>')
STYLES = ('<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
          '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd\\ hh:mm"/></numFmts>'
          '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="2"/></cellXfs>'
          '</styleSheet>')
SST = ('<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
       '<si><t>id</t></si><si><t>name</t></si><si><r><t>Acme </t></r><r><t>Ltd</t></r>'
       '<rPh><t>X</t></rPh></si><si><t>since</t></si></sst>')
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def sheet(rows):
    return '<?xml version="1.0"?><worksheet %s><sheetData>%s</sheetData></worksheet>' % (NS, rows)


GOOD = sheet(
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
    '<c r="C1" t="inlineStr"><is><t>score</t></is></c><c r="D1" t="s"><v>3</v></c>'
    '<c r="E1" t="inlineStr"><is><t>ok</t></is></c></row>'
    '<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="s"><v>2</v></c><c r="C2"><v>2.5</v></c>'
    '<c r="D2" s="1"><v>45352</v></c><c r="E2" t="b"><v>1</v></c></row>'
    '<row r="3"/>'
    '<row r="4"><c r="A4"><v>2</v></c><c r="B4" t="inlineStr"><is><t>B&amp;B</t></is></c>'
    '<c r="C4" t="str"><f>1+1</f><v>two</v></c><c r="D4" s="2"><v>45352.5</v></c>'
    '<c r="E4" t="b"><v>0</v></c></row>')


def write(out, parts, level=9):
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in parts:
            z.writestr(name, data)


def base(sheet1, sst=SST, sheet2=None):
    parts = [('[Content_Types].xml', CT), ('xl/workbook.xml', WB),
             ('xl/_rels/workbook.xml.rels', RELS), ('xl/styles.xml', STYLES)]
    if sst is not None:
        parts.append(('xl/sharedStrings.xml', sst))
    parts.append(('xl/worksheets/sheet1.xml', sheet1))
    parts.append(('xl/worksheets/sheet2.xml', sheet2 or sheet(
        '<row><c t="inlineStr"><is><t>k</t></is></c></row><row><c><v>7</v></c></row>')))
    return parts


def stream(out, head, piece, count, tail, sst=SST):
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in base(GOOD, sst)[:-2]:
            z.writestr(name, data)
        with z.open('xl/worksheets/sheet1.xml', 'w', force_zip64=True) as f:
            f.write(head.encode())
            block = (piece * 4096).encode()
            for _ in range(count // 4096):
                f.write(block)
            f.write(tail.encode())
        z.writestr('xl/worksheets/sheet2.xml', sheet(''))


kind, out = sys.argv[1], sys.argv[2]
if kind == 'good':
    write(out, base(GOOD))
elif kind == 'no_sst':
    write(out, base(GOOD, sst=None))
elif kind == 'broken_xml':
    write(out, base(GOOD.replace('<row r="3"/>', '<row r="3">')))
elif kind == 'bomb_cell':
    # One cell of 128 MiB of digits: 128 KiB on disk.
    stream(out, '<?xml version="1.0"?><worksheet %s><sheetData><row r="1"><c r="A1" t="inlineStr">'
           '<is><t>id</t></is></c></row><row r="2"><c r="A2"><v>' % NS, '0' * 256, 1 << 19,
           '</v></c></row></sheetData></worksheet>')
elif kind == 'bomb_tag':
    # A start tag that never ends: 128 MiB of attribute.
    stream(out, '<?xml version="1.0"?><worksheet %s><sheetData><row r="1" x="' % NS, 'a' * 256,
           1 << 19, '"/></sheetData></worksheet>')
elif kind == 'wide':
    # A million empty cells in one row after the header.
    stream(out, '<?xml version="1.0"?><worksheet %s><sheetData><row r="1"><c t="inlineStr">'
           '<is><t>id</t></is></c></row><row r="2">' % NS, '<c/>', 1 << 20,
           '</row></sheetData></worksheet>')
elif kind == 'bomb_sst':
    # Shared strings of 128 MiB.
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in base(GOOD, None):
            z.writestr(name, data)
        with z.open('xl/sharedStrings.xml', 'w', force_zip64=True) as f:
            f.write(('<?xml version="1.0"?><sst %s>' % NS).encode())
            block = ('<si><t>%s</t></si>' % ('x' * 1000)).encode() * 1024
            for _ in range(128):
                f.write(block)
            f.write(b'</sst>')
elif kind == 'dtd':
    write(out, base('<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaa">]>' + GOOD[21:]))
elif kind == 'not_zip':
    open(out, 'w').write('id,name\n1,a\n')
elif kind == 'many':
    n = int(sys.argv[3])
    rows = ['<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c><c r="B1" t="inlineStr">'
            '<is><t>n</t></is></c></row>']
    for i in range(2, n + 2):
        rows.append('<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d" t="inlineStr"><is><t>p%d</t>'
                    '</is></c></row>' % (i, i, i - 1, i, i))
    write(out, base(sheet(''.join(rows))), level=6)
else:
    sys.exit('unknown kind ' + kind)
