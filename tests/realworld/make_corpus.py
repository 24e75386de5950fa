"""Writes tests/realworld/corpus/: one small polluted CSV per kind (`X.csv`, byte-exact) and its
expectation (`X.json`). The files are committed; this script is their source, and
test_corpus.py checks that the committed files are what it writes. Run it after editing a case:

    .venv/bin/python tests/realworld/make_corpus.py

Expected cells are hand-written in the canonical text form README.md describes (None for null,
int as decimal digits, float as Python's repr, bool as true/false, ISO dates and timestamps).
Each reject is given by its physical line and raw text; the script checks that the raw text
starts that line and computes the byte offset, so a slip in a hand-written line number fails
here rather than in the engine's tests.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"

BOMS = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}

FIELDS_3_4 = "expected 3 fields, found 4"
FIELDS_3_2 = "expected 3 fields, found 2"


@dataclass
class Case:
    name: str
    pollution: str  # what this file exercises, one line (README and the test ids use it)
    data: bytes
    options: dict
    header: list[str]
    rows: list[list[str | None]]
    rejects: list[dict] = field(default_factory=list)  # {"line", "raw" (str or bytes), "reason"}
    dialect: dict = field(default_factory=dict)
    types: dict = field(default_factory=dict)
    codec: str = "utf-8"  # how the file's bytes decode (Python codec), for raw text and offsets
    bom: bytes = b""
    note: str = ""


def lines(*rows: str, end: str = "\n", final: bool = True) -> str:
    return end.join(rows) + (end if final else "")


CASES: list[Case] = []


def case(*args, **kw) -> None:
    CASES.append(Case(*args, **kw))


# -- field counts -------------------------------------------------------------------------------

case("extra_delimiter", "rows with one delimiter too many (an unquoted comma inside a name, a doubled comma); a blank line",
     lines("id,name,qty", "1,apple,3", "2,banana,5", "3,cherry,,7", "4,date,2", "", "5,Smith, John,9", "6,fig,1", "7,grape,4").encode(),
     {}, ["id", "name", "qty"],
     [["1", "apple", "3"], ["2", "banana", "5"], ["4", "date", "2"], ["6", "fig", "1"], ["7", "grape", "4"]],
     rejects=[{"line": 4, "raw": "3,cherry,,7", "reason": FIELDS_3_4}, {"line": 7, "raw": "5,Smith, John,9", "reason": FIELDS_3_4}],
     types={"id": "int64", "name": "string", "qty": "int64"})

case("missing_delimiter", "rows with one delimiter too few, the last one without a final line terminator",
     lines("id,name,qty", "1,apple,3", "2,banana 5", "3,cherry,7", "4,date,2", "5,elder,9", "6,fig,1", "7,grape4", final=False).encode(),
     {}, ["id", "name", "qty"],
     [["1", "apple", "3"], ["3", "cherry", "7"], ["4", "date", "2"], ["5", "elder", "9"], ["6", "fig", "1"]],
     rejects=[{"line": 3, "raw": "2,banana 5", "reason": FIELDS_3_2}, {"line": 8, "raw": "7,grape4", "reason": FIELDS_3_2}],
     types={"id": "int64", "name": "string", "qty": "int64"})

RAGGED = lines("id,name,qty,note", "1,apple,3,fresh", "2,banana,5", "3,cherry", "4,date,2,dry,extra", "5,elder,9,", "6,fig,1,ripe").encode()

case("ragged_pad", "short rows padded with nulls (ragged: pad); a long row is still bad",
     RAGGED, {"ragged": "pad"}, ["id", "name", "qty", "note"],
     [["1", "apple", "3", "fresh"], ["2", "banana", "5", None], ["3", "cherry", None, None], ["5", "elder", "9", None], ["6", "fig", "1", "ripe"]],
     rejects=[{"line": 5, "raw": "4,date,2,dry,extra", "reason": "expected 4 fields, found 5"}],
     types={"id": "int64", "name": "string", "qty": "int64", "note": "string"})

case("ragged_truncate", "short rows padded, long rows cut to the header's width (ragged: truncate)",
     RAGGED, {"ragged": "truncate"}, ["id", "name", "qty", "note"],
     [["1", "apple", "3", "fresh"], ["2", "banana", "5", None], ["3", "cherry", None, None], ["4", "date", "2", "dry"],
      ["5", "elder", "9", None], ["6", "fig", "1", "ripe"]],
     types={"id": "int64", "name": "string", "qty": "int64", "note": "string"})

# -- quotes -------------------------------------------------------------------------------------

case("stray_quote_unclosed", "a quote opened mid-file that never closes (no quote after it): only its own line is lost",
     lines("id,name,city", "1,Alice,Paris", "2,Bob,Berlin", '3,"Carol,Rome', "4,Dan,Oslo", "5,Eve,Kyiv", "6,Finn,Riga").encode(),
     {}, ["id", "name", "city"],
     [["1", "Alice", "Paris"], ["2", "Bob", "Berlin"], ["4", "Dan", "Oslo"], ["5", "Eve", "Kyiv"], ["6", "Finn", "Riga"]],
     rejects=[{"line": 4, "raw": '3,"Carol,Rome', "reason": "quote"}])

case("stray_quote_then_quoted_field", "a stray opening quote whose next quote is the opening quote of a later, good quoted "
     "field (so it does not close properly): only the stray's line is lost, the quoted fields after it read normally",
     lines("id,name,city", "1,Alice,Paris", '2,"Bob,Berlin', "3,Carol,Rome", '4,"Dan, Jr.",Oslo', "5,Eve,Kyiv", '6,"Finn ""F""",Riga').encode(),
     {}, ["id", "name", "city"],
     [["1", "Alice", "Paris"], ["3", "Carol", "Rome"], ["4", "Dan, Jr.", "Oslo"], ["5", "Eve", "Kyiv"], ["6", 'Finn "F"', "Riga"]],
     rejects=[{"line": 3, "raw": '2,"Bob,Berlin', "reason": "quote"}])

case("quote_inside_unquoted_field", "a quote character inside an unquoted field (inch marks) is kept as a literal, as csv "
     "readers that follow RFC 4180 leniently do; not a bad row",
     lines("id,item,size", '1,Monitor,27" wide', '2,Laptop,15"', "3,Phone,6.1 in", '4,Tablet,10" x 7"').encode(),
     {}, ["id", "item", "size"],
     [["1", "Monitor", '27" wide'], ["2", "Laptop", '15"'], ["3", "Phone", "6.1 in"], ["4", "Tablet", '10" x 7"']],
     note="stated expectation: a quote that does not start a field is data (Python's csv, pandas and csv-core agree)")

case("backslash_escape", 'backslash-escaped quotes and backslashes inside quoted fields (escape: "\\\\"), one before a '
     "quoted newline; a bad row after it is located on its physical line",
     lines("id,text,n", r'1,"say \"hi\"",2', r'2,"back\\slash",3', r'3,"a\",b",4', "4,plain,5", '5,"multi\\"', 'line",6', "6,x,7,8", "7,end,9").encode(),
     {"escape": "\\"}, ["id", "text", "n"],
     [["1", 'say "hi"', "2"], ["2", "back\\slash", "3"], ["3", 'a",b', "4"], ["4", "plain", "5"], ["5", 'multi"\nline', "6"], ["7", "end", "9"]],
     rejects=[{"line": 8, "raw": "6,x,7,8", "reason": FIELDS_3_4}],
     dialect={"escape": "\\"})

case("quoted_newlines", "quoted fields with embedded newlines before bad rows (line numbers stay physical); a bad row that "
     "itself spans two lines",
     lines("id,comment,score", '1,"first line', 'second line",10', '2,"a', "b", 'c",20', "3,plain,30", "4,too,many,fields",
           '5,"x', 'y",50', "6,short", '8,"multi', 'line",80,extra', "9,last,90",
           '10,"tail ""quoted""",100', '11,,110').encode(),
     {}, ["id", "comment", "score"],
     [["1", "first line\nsecond line", "10"], ["2", "a\nb\nc", "20"], ["3", "plain", "30"], ["5", "x\ny", "50"], ["9", "last", "90"],
      ["10", 'tail "quoted"', "100"], ["11", None, "110"]],
     rejects=[{"line": 8, "raw": "4,too,many,fields", "reason": FIELDS_3_4}, {"line": 11, "raw": "6,short", "reason": FIELDS_3_2},
              {"line": 12, "raw": '8,"multi\nline",80,extra', "reason": FIELDS_3_4}],
     types={"id": "int64", "comment": "string", "score": "int64"})

# -- lines that are not rows --------------------------------------------------------------------

case("preamble", "two title lines before the header (skip_rows: 2), then a blank line; a bad row is numbered from the file's first line",
     lines("Quarterly sales export", "Generated: 2024-03-01 by ACME Corp, Inc., all regions", "", "id,region,sales",
           "1,EU,100.5", "2,US,200.25", "3,APAC,50", "4,LATAM", "5,EU,75.75").encode(),
     {"skip_rows": 2}, ["id", "region", "sales"],
     [["1", "EU", "100.5"], ["2", "US", "200.25"], ["3", "APAC", "50.0"], ["5", "EU", "75.75"]],
     rejects=[{"line": 8, "raw": "4,LATAM", "reason": FIELDS_3_2}],
     types={"id": "int64", "region": "string", "sales": "float64"})

case("footnotes", "a total line and a source note after the table (skip_footer: 2), a blank line between, one more at the end",
     lines("id,region,sales", "1,EU,100", "2,US,200", "3,APAC", "4,LATAM,400", "5,EU,500", "6,US,600", "",
           "Total,,1800", "Source: internal, unaudited", "").encode(),
     {"skip_footer": 2}, ["id", "region", "sales"],
     [["1", "EU", "100"], ["2", "US", "200"], ["4", "LATAM", "400"], ["5", "EU", "500"], ["6", "US", "600"]],
     rejects=[{"line": 4, "raw": "3,APAC", "reason": FIELDS_3_2}],
     types={"id": "int64", "region": "string", "sales": "int64"})

case("comments", "comment lines (comment: \"#\") before the header and between rows, one with commas; a # inside a field is data",
     lines("# exported by tool v2, do not edit", "id,name,qty", "1,apple,3", "# a comment, in the middle, with commas", "2,banana,5",
           "#3,cherry,7", "4,#hash,2", "5,elder,9,9", "6,fig,1").encode(),
     {"comment": "#"}, ["id", "name", "qty"],
     [["1", "apple", "3"], ["2", "banana", "5"], ["4", "#hash", "2"], ["6", "fig", "1"]],
     rejects=[{"line": 8, "raw": "5,elder,9,9", "reason": FIELDS_3_4}],
     types={"id": "int64", "name": "string", "qty": "int64"})

case("two_tables", "a second, narrower table after a blank line: its header and rows have 2 fields where the first table has 3, "
     "so they are rejected and the first table loads",
     lines("id,name,qty", "1,apple,3", "2,banana,5", "3,cherry,7", "4,date,2", "5,elder,9", "6,fig,1", "7,grape,4", "8,honeydew,6",
           "", "store,city", "S1,Paris", "S2,Berlin").encode(),
     {}, ["id", "name", "qty"],
     [["1", "apple", "3"], ["2", "banana", "5"], ["3", "cherry", "7"], ["4", "date", "2"], ["5", "elder", "9"], ["6", "fig", "1"],
      ["7", "grape", "4"], ["8", "honeydew", "6"]],
     rejects=[{"line": 11, "raw": "store,city", "reason": FIELDS_3_2}, {"line": 12, "raw": "S1,Paris", "reason": FIELDS_3_2},
              {"line": 13, "raw": "S2,Berlin", "reason": FIELDS_3_2}],
     types={"id": "int64", "name": "string", "qty": "int64"})

# -- line endings -------------------------------------------------------------------------------

case("crlf", "CRLF line endings, a quoted CRLF inside a field (kept as is), a blank CRLF line, a bad row after them",
     b'id,name,note\r\n1,alpha,"two\r\nlines"\r\n2,beta,plain\r\n\r\n3,gamma,x,y\r\n4,delta,"q"\r\n',
     {}, ["id", "name", "note"],
     [["1", "alpha", "two\r\nlines"], ["2", "beta", "plain"], ["4", "delta", "q"]],
     rejects=[{"line": 6, "raw": "3,gamma,x,y", "reason": FIELDS_3_4}])

case("cr_only", "lone CR line endings (classic Mac), a quoted lone CR inside a field",
     b'id,name\r1,a\r2,b\r3,c,x\r4,d\r5,"e\rf"\r6,g\r',
     {}, ["id", "name"],
     [["1", "a"], ["2", "b"], ["4", "d"], ["5", "e\rf"], ["6", "g"]],
     rejects=[{"line": 4, "raw": "3,c,x", "reason": "expected 2 fields, found 3"}])

case("mixed_line_endings", "LF, CRLF and lone CR mixed in one file, a blank line, a quoted LF, no final terminator",
     b'id,name,qty\r\n1,apple,3\n2,banana,5\r3,cherry\r\n\r\n4,date,2\n5,"elder\nberry",9\r6,fig,1,0\r\n7,grape,4',
     {}, ["id", "name", "qty"],
     [["1", "apple", "3"], ["2", "banana", "5"], ["4", "date", "2"], ["5", "elder\nberry", "9"], ["7", "grape", "4"]],
     rejects=[{"line": 4, "raw": "3,cherry", "reason": FIELDS_3_2}, {"line": 9, "raw": "6,fig,1,0", "reason": FIELDS_3_4}])

# -- encodings ----------------------------------------------------------------------------------

case("latin1_declared", 'ISO-8859-1 text (bytes 0xA0-0xFF only, where latin-1 and windows-1252 agree), encoding: "latin-1"',
     lines("id,name,city", "1,Zoë,Köln", "2,José,São Paulo", "3,Ørsted,Århus", "4,Søren,Tórshavn", "5,Pound £,Zürich", "6,Ana,Bogotá").encode("latin-1"),
     {"encoding": "latin-1"}, ["id", "name", "city"],
     [["1", "Zoë", "Köln"], ["2", "José", "São Paulo"], ["3", "Ørsted", "Århus"], ["4", "Søren", "Tórshavn"], ["5", "Pound £", "Zürich"],
      ["6", "Ana", "Bogotá"]],
     codec="latin-1")

case("windows1252_auto", "windows-1252 with €, curly quotes, an apostrophe and an en dash, detected by encoding auto (not valid "
     "UTF-8, no valid multi-byte sequence); one bad row (ASCII)",
     lines("id,product,price,note", "1,Café crème,3.5,“best seller”", "2,Brötchen,0.8,it’s fresh", "3,Crêpe – sucrée,4.2,€ only",
           "4,Jalapeño,1.25,señor’s pick", "5,Tea,2.0,plain,extra", "6,Thé vert,2.75,“green”").encode("cp1252"),
     {}, ["id", "product", "price", "note"],
     [["1", "Café crème", "3.5", "“best seller”"], ["2", "Brötchen", "0.8", "it’s fresh"], ["3", "Crêpe – sucrée", "4.2", "€ only"],
      ["4", "Jalapeño", "1.25", "señor’s pick"], ["6", "Thé vert", "2.75", "“green”"]],
     rejects=[{"line": 6, "raw": "5,Tea,2.0,plain,extra", "reason": "expected 4 fields, found 5"}],
     dialect={"encoding": "windows-1252"}, types={"id": "int64", "product": "string", "price": "float64", "note": "string"},
     codec="cp1252")

UTF16_TEXT = lines("id,name,note", '1,Zoë,"multi', 'line"', "2,東京,plain", '3,😀,"say ""hi"""', "4,bad,row,extra", "5,Ünïcödé,end")
UTF16_ROWS = [["1", "Zoë", "multi\nline"], ["2", "東京", "plain"], ["3", "😀", 'say "hi"'], ["5", "Ünïcödé", "end"]]

case("utf16le_bom", "UTF-16LE with a BOM (encoding auto), non-BMP characters, a quoted newline; the bad row's byte offset "
     "counts the BOM and two bytes per code unit",
     BOMS["utf-16-le"] + UTF16_TEXT.encode("utf-16-le"),
     {}, ["id", "name", "note"], UTF16_ROWS,
     rejects=[{"line": 6, "raw": "4,bad,row,extra", "reason": FIELDS_3_4}],
     dialect={"encoding": "utf-16le"}, codec="utf-16-le", bom=BOMS["utf-16-le"])

case("utf16be_bom", "UTF-16BE with a BOM (encoding auto) and CRLF line endings",
     BOMS["utf-16-be"] + UTF16_TEXT.replace("4,bad,row,extra\n", "").replace("\n", "\r\n").encode("utf-16-be"),
     {}, ["id", "name", "note"], [[a, b, c.replace("\n", "\r\n")] for a, b, c in UTF16_ROWS],
     dialect={"encoding": "utf-16be"}, codec="utf-16-be", bom=BOMS["utf-16-be"])

case("utf8_bom", "UTF-8 with a BOM: the first column is named id, not \\ufeffid; the bad row's byte offset counts the BOM's 3 bytes",
     BOMS["utf-8"] + lines("id,name", "1,Zoë", "2,naïve", "3,x,y", "4,end").encode(),
     {}, ["id", "name"], [["1", "Zoë"], ["2", "naïve"], ["4", "end"]],
     rejects=[{"line": 4, "raw": "3,x,y", "reason": "expected 2 fields, found 3"}],
     dialect={"encoding": ["utf-8", "utf-8-sig"]}, bom=BOMS["utf-8"])

case("invalid_utf8_row", "a UTF-8 file (valid multi-byte sequences, so auto picks UTF-8) with one latin-1 byte 0xE9 in a row: "
     "that row is rejected; its raw text carries U+FFFD where the byte was",
     lines("id,name,city", "1,Zoë,Köln").encode() + b"2,Caf\xe9,Rome\n" + lines("3,José,São Paulo", "4,Ana,Lima").encode(),
     {}, ["id", "name", "city"], [["1", "Zoë", "Köln"], ["3", "José", "São Paulo"], ["4", "Ana", "Lima"]],
     rejects=[{"line": 3, "raw": b"2,Caf\xe9,Rome", "reason": "UTF-8"}],
     dialect={"encoding": "utf-8"},
     note="raw of an undecodable row: the bytes decoded with U+FFFD for each maximal invalid subsequence (Python's "
          "errors='replace', Rust's from_utf8_lossy)")

# -- delimiters ---------------------------------------------------------------------------------

SEMI = lines("id;name;city;amount", "1;Smith, John;Paris;10", "2;Doe, Jane;Berlin;20", "3;Roe;Rome;30", "4;Poe;Oslo;40", "5;Lee;Kyiv;50")
SEMI_ROWS = [["1", "Smith, John", "Paris", "10"], ["2", "Doe, Jane", "Berlin", "20"], ["3", "Roe", "Rome", "30"], ["4", "Poe", "Oslo", "40"],
             ["5", "Lee", "Kyiv", "50"]]

case("semicolon_auto", "semicolon-separated with commas in the data, delimiter: auto",
     SEMI.encode(), {"delimiter": "auto"}, ["id", "name", "city", "amount"], SEMI_ROWS, dialect={"delimiter": ";"})

case("semicolon_declared", "semicolon-separated, delimiter declared, one row with an extra field",
     lines("id;name;qty", "1;apple;3", "2;banana;5;6", "3;cherry;7", "4;date;2", "5;elder;9").encode(),
     {"delimiter": ";"}, ["id", "name", "qty"], [["1", "apple", "3"], ["3", "cherry", "7"], ["4", "date", "2"], ["5", "elder", "9"]],
     rejects=[{"line": 3, "raw": "2;banana;5;6", "reason": FIELDS_3_4}], dialect={"delimiter": ";"})

TAB = lines("id\tname\tcity", "1\tAlice Smith\tNew York", "2\tBob, Jr.\tLos Angeles", "3\tCarol\tSan José", "4\tDan\tRio", "5\tEve; Ann\tLima")
TAB_ROWS = [["1", "Alice Smith", "New York"], ["2", "Bob, Jr.", "Los Angeles"], ["3", "Carol", "San José"], ["4", "Dan", "Rio"], ["5", "Eve; Ann", "Lima"]]

case("tab_auto", "tab-separated with spaces, commas and a semicolon in the data, delimiter: auto",
     TAB.encode(), {"delimiter": "auto"}, ["id", "name", "city"], TAB_ROWS, dialect={"delimiter": "\t"})

case("tab_declared", "tab-separated, delimiter declared; a quoted field holding a tab; an empty field; a short row",
     lines("id\tname\tcity", "1\tAlice\tParis", '2\t"a\tb"\tRome', "3\t\tOslo", "4\tDan", "5\tEve\tLima").encode(),
     {"delimiter": "\t"}, ["id", "name", "city"], [["1", "Alice", "Paris"], ["2", "a\tb", "Rome"], ["3", None, "Oslo"], ["5", "Eve", "Lima"]],
     rejects=[{"line": 5, "raw": "4\tDan", "reason": FIELDS_3_2}], dialect={"delimiter": "\t"})

PIPE = lines("id|name|price", "1|Widget, large|9.99", "2|Gadget|19.5", "3|Gizmo; mini|4.25", "4|Thing|0.5", "5|Doohickey|12.0")
PIPE_ROWS = [["1", "Widget, large", "9.99"], ["2", "Gadget", "19.5"], ["3", "Gizmo; mini", "4.25"], ["4", "Thing", "0.5"], ["5", "Doohickey", "12.0"]]

case("pipe_auto", "pipe-separated with commas and semicolons in the data, delimiter: auto",
     PIPE.encode(), {"delimiter": "auto"}, ["id", "name", "price"], PIPE_ROWS, dialect={"delimiter": "|"},
     types={"id": "int64", "name": "string", "price": "float64"})

case("pipe_declared", "pipe-separated, delimiter declared, a row missing a field",
     lines("id|name|price", "1|Widget|9.99", "2|Gadget", "3|Gizmo|4.25", "4|Thing|0.5").encode(),
     {"delimiter": "|"}, ["id", "name", "price"], [["1", "Widget", "9.99"], ["3", "Gizmo", "4.25"], ["4", "Thing", "0.5"]],
     rejects=[{"line": 3, "raw": "2|Gadget", "reason": FIELDS_3_2}], dialect={"delimiter": "|"})

case("decimal_comma", 'decimal comma (decimal: ",") with semicolons: one float column inferred, one declared float64',
     lines("id;price;weight;label", "1;3,14;1,5;a", "2;0,5;2;b", "3;-12,75;0,25;c", "4;100;10,0;d").encode(),
     {"delimiter": ";", "decimal": ",", "schema": {"weight": "float64"}}, ["id", "price", "weight", "label"],
     [["1", "3.14", "1.5", "a"], ["2", "0.5", "2.0", "b"], ["3", "-12.75", "0.25", "c"], ["4", "100.0", "10.0", "d"]],
     types={"id": "int64", "price": "float64", "weight": "float64", "label": "string"})

# -- values -------------------------------------------------------------------------------------

case("null_markers", 'null markers NA, NULL and - (null_values: ["", "NA", "NULL", "-"]); -5 and n/a are values',
     lines("id,score,label", "1,10,a", "2,NA,b", "3,NULL,NULL", "4,-,-", "5,,c", "6,7,NA", "7,-5,d", "8,3,n/a").encode(),
     {"null_values": ["", "NA", "NULL", "-"]}, ["id", "score", "label"],
     [["1", "10", "a"], ["2", None, "b"], ["3", None, None], ["4", None, None], ["5", None, "c"], ["6", "7", None], ["7", "-5", "d"],
      ["8", "3", "n/a"]],
     types={"id": "int64", "score": "int64", "label": "string"})

case("trim_whitespace", "spaces and tabs around fields and header names (trim: true), so numbers still read as numbers",
     lines("id , name ,qty\t", " 1, apple ,3", "2 ,\tbanana\t, 5", "  3,cherry pie,  7  ", "4,\t date\t,2").encode(),
     {"trim": True}, ["id", "name", "qty"],
     [["1", "apple", "3"], ["2", "banana", "5"], ["3", "cherry pie", "7"], ["4", "date", "2"]],
     types={"id": "int64", "name": "string", "qty": "int64"})

case("header_only", "a header and no rows: string columns (never null-typed), no rows, no rejects",
     b"id,name,amount\n", {}, ["id", "name", "amount"], [],
     types={"id": "string", "name": "string", "amount": "string"})

case("empty_trailing_fields", "empty trailing fields (nulls), an all-empty row, and a column that is empty throughout",
     lines("a,b,c,d,e", "1,x,,,", "2,,,,", "3,y,z,,", "4,,,w,").encode(),
     {}, ["a", "b", "c", "d", "e"],
     [["1", "x", None, None, None], ["2", None, None, None, None], ["3", "y", "z", None, None], ["4", None, None, "w", None]],
     types={"a": "int64", "b": "string", "c": "string", "d": "string", "e": "string"},
     note="stated expectation: a column with no value at all is typed string, like a header-only file's")

case("header_names", "duplicate and empty header names made unique (name, name_2, name_3; empty -> column_N by position)",
     lines("id,name,name,,value,name", "1,a,b,c,2,d", "2,e,f,g,3,h").encode(),
     {}, ["id", "name", "name_2", "column_4", "value", "name_3"],
     [["1", "a", "b", "c", "2", "d"], ["2", "e", "f", "g", "3", "h"]])

case("header_auto_present", "header: auto on a file with a header (a text cell heads a numeric column)",
     lines("name,age,city", "Alice,30,Paris", "Bob,25,Rome", "Carol,41,Oslo", "Dan,35,Riga").encode(),
     {"header": "auto"}, ["name", "age", "city"],
     [["Alice", "30", "Paris"], ["Bob", "25", "Rome"], ["Carol", "41", "Oslo"], ["Dan", "35", "Riga"]],
     dialect={"header": True}, types={"name": "string", "age": "int64", "city": "string"})

case("header_auto_absent", "header: auto on a file without a header (the first row types like the rest): column_1..N",
     lines("Alice,30,Paris", "Bob,25,Rome", "Carol,41,Oslo", "Dan,35,Riga").encode(),
     {"header": "auto"}, ["column_1", "column_2", "column_3"],
     [["Alice", "30", "Paris"], ["Bob", "25", "Rome"], ["Carol", "41", "Oslo"], ["Dan", "35", "Riga"]],
     dialect={"header": False}, types={"column_1": "string", "column_2": "int64", "column_3": "string"})

case("header_false", "header: false: every line is data, columns column_1..N; a bad row is still numbered physically",
     lines("1,apple,3", "2,banana,5", "3,cherry", "4,date,2").encode(),
     {"header": False}, ["column_1", "column_2", "column_3"],
     [["1", "apple", "3"], ["2", "banana", "5"], ["4", "date", "2"]],
     rejects=[{"line": 3, "raw": "3,cherry", "reason": FIELDS_3_2}], dialect={"header": False})

case("type_violation_int64", 'values that are not int64 in a column declared int64 (schema: {"qty": "int64"}); an empty cell is null, not bad',
     lines("id,item,qty", "1,apple,3", "2,banana,five", "3,cherry,7", "4,date,2.5", "5,elder,", "6,fig,12", "7,grape,-4").encode(),
     {"schema": {"qty": "int64"}}, ["id", "item", "qty"],
     [["1", "apple", "3"], ["3", "cherry", "7"], ["5", "elder", None], ["6", "fig", "12"], ["7", "grape", "-4"]],
     rejects=[{"line": 3, "raw": "2,banana,five", "reason": ['"five"', "int64", '"qty"']},
              {"line": 5, "raw": "4,date,2.5", "reason": ['"2.5"', "int64", '"qty"']}],
     types={"id": "int64", "item": "string", "qty": "int64"})

case("types", "one column per inferred type: int64, float64, bool, date, timestamp (naive), timestamptz (every value has Z or an "
     "offset; stored as UTC), string, with nulls",
     lines("i,f,b,d,ts,tstz,s",
           "1,1.5,true,2024-01-31,2024-01-31T10:20:30,2024-01-31T10:20:30Z,hello",
           "2,-2.25,false,2023-12-01,2023-12-01T00:00:00.5,2023-12-01T01:00:00+01:00,world",
           "3,,true,,2024-02-29T23:59:59.123456,2024-02-29T23:59:59.123456-05:00,",
           "-4,1e3,false,2000-01-01,,1999-12-31T23:00:00Z,a b").encode(),
     {}, ["i", "f", "b", "d", "ts", "tstz", "s"],
     [["1", "1.5", "true", "2024-01-31", "2024-01-31T10:20:30", "2024-01-31T10:20:30+00:00", "hello"],
      ["2", "-2.25", "false", "2023-12-01", "2023-12-01T00:00:00.5", "2023-12-01T00:00:00+00:00", "world"],
      ["3", None, "true", None, "2024-02-29T23:59:59.123456", "2024-03-01T04:59:59.123456+00:00", None],
      ["-4", "1000.0", "false", "2000-01-01", None, "1999-12-31T23:00:00+00:00", "a b"]],
     types={"i": "int64", "f": "float64", "b": "bool", "d": "date", "ts": "timestamp", "tstz": "timestamptz", "s": "string"})


# -- checks and output --------------------------------------------------------------------------

def physical_line_starts(text: str) -> list[int]:
    """Offsets (in `text`) where each physical line starts: after every \\n, \\r\\n or lone \\r."""
    starts, i, n = [0], 0, len(text)
    while i < n:
        c = text[i]
        if c == "\r" and i + 1 < n and text[i + 1] == "\n":
            i += 2
            starts.append(i)
        elif c in "\r\n":
            i += 1
            starts.append(i)
        else:
            i += 1
    return starts


def has_valid_multibyte_utf8(data: bytes) -> bool:
    for i, b in enumerate(data):
        if b >= 0xC2:
            for n in (2, 3, 4):
                try:
                    if len(data[i:i + n].decode("utf-8")) == 1:
                        return True
                except UnicodeDecodeError:
                    pass
    return False


def expectation(c: Case) -> dict:
    assert c.data.startswith(c.bom)
    text = c.data[len(c.bom):].decode(c.codec, "surrogateescape")
    starts = physical_line_starts(text)
    rejects = []
    for r in c.rejects:
        raw = r["raw"]
        raw_text = raw.decode(c.codec, "surrogateescape") if isinstance(raw, bytes) else raw
        at = starts[r["line"] - 1]
        assert text.startswith(raw_text, at), (c.name, r)
        end = at + len(raw_text)
        assert end == len(text) or text[end] in "\r\n", (c.name, r, "raw must end at a line terminator")
        assert not raw_text.endswith(("\r", "\n"))
        offset = len(c.bom) + len(text[:at].encode(c.codec, "surrogateescape"))
        shown = raw.decode(c.codec, "replace") if isinstance(raw, bytes) else raw
        reason = r["reason"] if isinstance(r["reason"], list) else [r["reason"]]
        rejects.append({"line": r["line"], "byte_offset": offset, "raw": shown, "reason_contains": reason})
    # every file stays well under the default max_bad_rows (0.5), whatever it is a fraction of
    assert 2 * len(rejects) < len(c.rows) or not rejects, c.name
    for row in c.rows:
        assert len(row) == len(c.header), (c.name, row)
    if c.dialect.get("encoding") == "windows-1252":
        assert not has_valid_multibyte_utf8(c.data), c.name
    doc = {"pollution": c.pollution, "options": c.options, "header": c.header, "rows": c.rows, "rejects": rejects}
    if c.dialect:
        doc["dialect"] = c.dialect
    if c.types:
        doc["types"] = c.types
    if c.note:
        doc["note"] = c.note
    return doc


def dump(doc: dict) -> str:
    """JSON with one key per line and one row (or reject) per line, so a diff shows the cell that changed."""
    out = []
    for k, v in doc.items():
        if k in ("rows", "rejects") and v:
            inner = ",\n".join("  " + json.dumps(x, ensure_ascii=False) for x in v)
            out.append(f" {json.dumps(k)}: [\n{inner}\n ]")
        else:
            out.append(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}")
    return "{\n" + ",\n".join(out) + "\n}\n"


def render() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for c in CASES:
        assert f"{c.name}.csv" not in files, c.name
        files[f"{c.name}.csv"] = c.data
        files[f"{c.name}.json"] = dump(expectation(c)).encode()
    return files


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    files = render()
    for old in CORPUS.iterdir():
        if old.name not in files:
            old.unlink()
    for name, data in files.items():
        (CORPUS / name).write_bytes(data)
    print(f"{len(CASES)} cases written to {CORPUS}", file=sys.stderr)


if __name__ == "__main__":
    main()
