//! Conformance of the built-in functions with Terraform: each case is an
//! expression and the value Terraform gives for it, most taken from the
//! examples in Terraform's function documentation and its own tests. Both
//! sides are HCL, evaluated by the spec evaluator, in a module directory
//! holding the files the file functions read.

use std::collections::BTreeMap;
use std::path::Path;

use stackd_spec::config::Config;
use stackd_spec::eval::{LocalCache, NothingKnown, Scope};
use stackd_spec::Value;

/// `(expression, what Terraform gives)`.
const CASES: &[(&str, &str)] = &[
    // ----- numbers
    ("abs(23)", "23"),
    ("abs(0)", "0"),
    ("abs(-12.4)", "12.4"),
    ("ceil(5)", "5"),
    ("ceil(5.1)", "6"),
    ("ceil(-5.1)", "-5"),
    ("floor(5)", "5"),
    ("floor(4.9)", "4"),
    ("floor(-4.1)", "-5"),
    ("log(50, 10)", "1.6989700043360185"),
    ("log(16, 2)", "4"),
    ("ceil(log(15, 2))", "4"),
    ("ceil(log(16, 2))", "4"),
    ("ceil(log(17, 2))", "5"),
    ("log(1, 10)", "0"),
    ("max(12, 54, 3)", "54"),
    ("max([12, 54, 3]...)", "54"),
    ("max(-1, -2)", "-1"),
    ("min(12, 54, 3)", "3"),
    ("min([12, 54, 3]...)", "3"),
    ("min(-1, -2)", "-2"),
    (r#"parseint("100", 10)"#, "100"),
    (r#"parseint("FF", 16)"#, "255"),
    (r#"parseint("-10", 16)"#, "-16"),
    (r#"parseint("1011111011101111", 2)"#, "48879"),
    (r#"parseint("aA", 62)"#, "656"),
    (r#"parseint("zz", 36)"#, "1295"),
    (r#"parseint("+7", 8)"#, "7"),
    ("pow(3, 2)", "9"),
    ("pow(4, 0)", "1"),
    ("pow(2, -1)", "0.5"),
    ("signum(-13)", "-1"),
    ("signum(0)", "0"),
    ("signum(344)", "1"),
    ("sum([10, 13, 6, 4.5])", "33.5"),
    ("sum([1])", "1"),
    ("sum([-1, 1])", "0"),
    // ----- strings
    (r#"chomp("hello\n")"#, r#""hello""#),
    (r#"chomp("hello\r\n")"#, r#""hello""#),
    (r#"chomp("hello\n\n")"#, r#""hello""#),
    (r#"endswith("hello world", "world")"#, "true"),
    (r#"endswith("hello world", "hello")"#, "false"),
    (r#"endswith("", "")"#, "true"),
    (r#"format("Hello, %s!", "Ander")"#, r#""Hello, Ander!""#),
    (
        r#"format("There are %d lights", 4)"#,
        r#""There are 4 lights""#,
    ),
    (
        r#"format("Hello, %s!", var.name)"#,
        r#""Hello, Valentina!""#,
    ),
    (
        r#"format("%[1]s%[2]s%[1]s%[3]s", "/", "path", "file.tf")"#,
        r#""/path/file.tf""#,
    ),
    (r##"format("%#v", "hello")"##, r#""\"hello\"""#),
    (r##"format("%#v", true)"##, r#""true""#),
    (r##"format("%#v", 1)"##, r#""1""#),
    (r##"format("%#v", {a = 1})"##, r#""{\"a\":1}""#),
    (r##"format("%#v", [true])"##, r#""[true]""#),
    (r##"format("%#v", null)"##, r#""null""#),
    (
        r#"formatlist("Hello, %s!", ["Valentina", "Ander", "Olivia", "Sam"])"#,
        r#"["Hello, Valentina!", "Hello, Ander!", "Hello, Olivia!", "Hello, Sam!"]"#,
    ),
    (
        r#"formatlist("%s, %s!", "Salutations", ["Valentina", "Ander", "Olivia", "Sam"])"#,
        r#"["Salutations, Valentina!", "Salutations, Ander!", "Salutations, Olivia!", "Salutations, Sam!"]"#,
    ),
    (r#"formatlist("%d", [])"#, "[]"),
    (r#"indent(2, "a\nb")"#, r#""a\n  b""#),
    (r#"indent(0, "a\nb")"#, r#""a\nb""#),
    (r#"indent(4, "x")"#, r#""x""#),
    (r#"join("-", ["foo", "bar", "baz"])"#, r#""foo-bar-baz""#),
    (r#"join(", ", ["foo", "bar", "baz"])"#, r#""foo, bar, baz""#),
    (r#"join(", ", ["foo"])"#, r#""foo""#),
    (r#"lower("HELLO")"#, r#""hello""#),
    (r#"lower("ΓΕΙΑ ΣΟΥ")"#, r#""γεια σου""#),
    (r#"lower("")"#, r#""""#),
    (
        r#"regex("[a-z]+", "53453453.345345aaabbbccc23454")"#,
        r#""aaabbbccc""#,
    ),
    (
        r#"regex("(\\d\\d\\d\\d)-(\\d\\d)-(\\d\\d)", "2019-02-01")"#,
        r#"["2019", "02", "01"]"#,
    ),
    (
        r#"regex("^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?", "https://terraform.io/docs/")"#,
        r#"{ authority = "terraform.io", scheme = "https" }"#,
    ),
    (r#"regex("(a)?(b)", "b")"#, r#"[null, "b"]"#),
    (r#"regex("(?i)HELLO", "say hello")"#, r#""hello""#),
    (
        r#"regexall("[a-z]+", "1234abcd5678efgh9")"#,
        r#"["abcd", "efgh"]"#,
    ),
    (r#"length(regexall("[a-z]+", "1234abcd5678efgh9"))"#, "2"),
    (r#"length(regexall("[a-z]+", "123456789")) > 0"#, "false"),
    (
        r#"regexall("(\\d+)-(\\d+)", "1-2 3-4")"#,
        r#"[["1", "2"], ["3", "4"]]"#,
    ),
    (
        r#"regexall("(?P<k>\\w+)=(?P<v>\\w+)", "a=1 b=2")"#,
        r#"[{ k = "a", v = "1" }, { k = "b", v = "2" }]"#,
    ),
    (r#"replace("1 + 2 + 3", "+", "-")"#, r#""1 - 2 - 3""#),
    (
        r#"replace("hello world", "/w.*d/", "everybody")"#,
        r#""hello everybody""#,
    ),
    (
        r#"replace("hello world", "/(\\w+) (\\w+)/", "$2 $1")"#,
        r#""world hello""#,
    ),
    (r#"replace("a/b", "/", "-")"#, r#""a-b""#),
    (r#"split(",", "foo,bar,baz")"#, r#"["foo", "bar", "baz"]"#),
    (r#"split(",", "foo")"#, r#"["foo"]"#),
    (r#"split(",", "")"#, r#"[""]"#),
    (r#"startswith("hello world", "hello")"#, "true"),
    (r#"startswith("hello world", "world")"#, "false"),
    (r#"startswith("", "")"#, "true"),
    (r#"strcontains("hello world", "wor")"#, "true"),
    (r#"strcontains("hello world", "wod")"#, "false"),
    (r#"strcontains("", "")"#, "true"),
    (r#"strrev("hello")"#, r#""olleh""#),
    (r#"strrev("a ☃")"#, r#""☃ a""#),
    (r#"strrev("")"#, r#""""#),
    (r#"substr("hello world", 1, 4)"#, r#""ello""#),
    (r#"substr("🤔🤷", 0, 1)"#, r#""🤔""#),
    (r#"substr("hello world", -5, -1)"#, r#""world""#),
    (r#"substr("hello world", 6, 10)"#, r#""world""#),
    (r#"title("hello world")"#, r#""Hello World""#),
    (r#"title("hello-world")"#, r#""Hello-World""#),
    (r#"title("")"#, r#""""#),
    (r#"trim("?!hello?!", "!?")"#, r#""hello""#),
    (r#"trim("foobar", "far")"#, r#""oob""#),
    (r#"trim("   hello! world.!  ", "! ")"#, r#""hello! world.""#),
    (r#"trimprefix("helloworld", "hello")"#, r#""world""#),
    (r#"trimprefix("helloworld", "cat")"#, r#""helloworld""#),
    (r#"trimprefix("--hello", "-")"#, r#""-hello""#),
    (r#"trimspace("  hello\n\n")"#, r#""hello""#),
    (r#"trimspace("")"#, r#""""#),
    (r#"trimspace(" a b ")"#, r#""a b""#),
    (r#"trimsuffix("helloworld", "world")"#, r#""hello""#),
    (r#"trimsuffix("helloworld", "cat")"#, r#""helloworld""#),
    (r#"trimsuffix("hello--", "-")"#, r#""hello-""#),
    (r#"upper("hello")"#, r#""HELLO""#),
    (r#"upper("алло!")"#, r#""АЛЛО!""#),
    (r#"upper("")"#, r#""""#),
    (
        r#"templatestring(local.greeting, { name = "World" })"#,
        r#""Hello, World!""#,
    ),
    (
        r#"templatestring(local.listing, { items = ["a", "b"] })"#,
        r#""a;b;""#,
    ),
    (
        r#"templatestring(local.templates["plain"], {})"#,
        r#""no variables""#,
    ),
    (
        r#"templatefile("greeting.tpl", { name = "World" })"#,
        r#""Hello, World!""#,
    ),
    (
        r#"templatefile("./files/../greeting.tpl", { name = "x" })"#,
        r#""Hello, x!""#,
    ),
    (
        r#"templatefile("${path.module}/list.tpl", { items = ["a", "b"] })"#,
        r#""a;b;""#,
    ),
    // ----- collections
    (r#"alltrue(["true", true])"#, "true"),
    ("alltrue([true, false])", "false"),
    ("alltrue([])", "true"),
    (r#"anytrue(["true"])"#, "true"),
    ("anytrue([true])", "true"),
    ("anytrue([true, false])", "true"),
    ("anytrue([])", "false"),
    (
        r#"chunklist(["a", "b", "c", "d", "e"], 2)"#,
        r#"[["a", "b"], ["c", "d"], ["e"]]"#,
    ),
    (
        r#"chunklist(["a", "b", "c", "d", "e"], 1)"#,
        r#"[["a"], ["b"], ["c"], ["d"], ["e"]]"#,
    ),
    (r#"chunklist([], 2)"#, "[]"),
    (r#"coalesce("a", "b")"#, r#""a""#),
    (r#"coalesce("", "b")"#, r#""b""#),
    ("coalesce(1, 2)", "1"),
    (r#"coalesce(["", "b"]...)"#, r#""b""#),
    (r#"coalesce(1, "hello")"#, r#""1""#),
    (r#"coalesce(true, "hello")"#, r#""true""#),
    (r#"coalescelist(["a", "b"], ["c", "d"])"#, r#"["a", "b"]"#),
    (r#"coalescelist([], ["c", "d"])"#, r#"["c", "d"]"#),
    (r#"coalescelist([[], ["c", "d"]]...)"#, r#"["c", "d"]"#),
    (
        r#"compact(["a", "", "b", null, "c"])"#,
        r#"["a", "b", "c"]"#,
    ),
    (r#"compact([])"#, "[]"),
    (r#"compact(["", ""])"#, "[]"),
    (r#"concat(["a", ""], ["b", "c"])"#, r#"["a", "", "b", "c"]"#),
    (
        r#"concat([], [1, "a"], [[3], "c"])"#,
        r#"[1, "a", [3], "c"]"#,
    ),
    ("concat([])", "[]"),
    (r#"contains(["a", "b", "c"], "a")"#, "true"),
    (r#"contains(["a", "b", "c"], "d")"#, "false"),
    (r#"contains([], "d")"#, "false"),
    (
        r#"distinct(["a", "b", "a", "c", "d", "b"])"#,
        r#"["a", "b", "c", "d"]"#,
    ),
    ("distinct([])", "[]"),
    ("distinct([1, 1])", "[1]"),
    (r#"element(["a", "b", "c"], 1)"#, r#""b""#),
    (r#"element(["a", "b", "c"], 3)"#, r#""a""#),
    (r#"element(["a", "b", "c"], -1)"#, r#""c""#),
    (r#"flatten([["a", "b"], [], ["c"]])"#, r#"["a", "b", "c"]"#),
    (
        r#"flatten([[["a", "b"], []], ["c"]])"#,
        r#"["a", "b", "c"]"#,
    ),
    ("flatten([])", "[]"),
    (r#"index(["a", "b", "c"], "b")"#, "1"),
    (r#"index(["one", "two", "two"], "two")"#, "1"),
    (r#"index(["a"], "a")"#, "0"),
    ("keys({a = 1, c = 2, d = 3})", r#"["a", "c", "d"]"#),
    ("keys({})", "[]"),
    ("keys({b = 1, a = 2})", r#"["a", "b"]"#),
    ("length([])", "0"),
    (r#"length(["a", "b"])"#, "2"),
    (r#"length({"a" = "b"})"#, "1"),
    (r#"length("hello")"#, "5"),
    (r#"lookup({a = "ay", b = "bee"}, "a", "what?")"#, r#""ay""#),
    (
        r#"lookup({a = "ay", b = "bee"}, "c", "what?")"#,
        r#""what?""#,
    ),
    (r#"lookup({a = 1}, "a")"#, "1"),
    (
        r#"matchkeys(["i-123", "i-abc", "i-def"], ["us-west", "us-east", "us-east"], ["us-east"])"#,
        r#"["i-abc", "i-def"]"#,
    ),
    (r#"matchkeys(["a", "b", "c"], ["x", "y", "z"], [])"#, "[]"),
    (r#"matchkeys(["a", "b"], [1, 2], [2])"#, r#"["b"]"#),
    (
        r#"matchkeys(["a", "b", "c"], ["x", "y", "x"], ["x", "y"])"#,
        r#"["a", "b", "c"]"#,
    ),
    (
        r#"merge({a = "b", c = "d"}, {e = "f", c = "z"})"#,
        r#"{ a = "b", c = "z", e = "f" }"#,
    ),
    (
        r#"merge({a = "b"}, {a = [1, 2], c = "z"}, {d = 3})"#,
        r#"{ a = [1, 2], c = "z", d = 3 }"#,
    ),
    (
        r#"merge([{a = "b", c = "d"}, {}, {e = "f", c = "z"}]...)"#,
        r#"{ a = "b", c = "z", e = "f" }"#,
    ),
    ("one([])", "null"),
    (r#"one(["hello"])"#, r#""hello""#),
    ("one(toset([]))", "null"),
    (r#"one(toset(["hello"]))"#, r#""hello""#),
    ("range(3)", "[0, 1, 2]"),
    ("range(1, 4)", "[1, 2, 3]"),
    ("range(1, 8, 2)", "[1, 3, 5, 7]"),
    ("range(1, 4, 0.5)", "[1, 1.5, 2, 2.5, 3, 3.5]"),
    ("range(4, 1)", "[4, 3, 2]"),
    ("range(10, 5, -2)", "[10, 8, 6]"),
    ("reverse([1, 2, 3])", "[3, 2, 1]"),
    ("reverse([])", "[]"),
    (r#"reverse(["a"])"#, r#"["a"]"#),
    (
        r#"setintersection(["a", "b"], ["b", "c"], ["b", "d"])"#,
        r#"["b"]"#,
    ),
    (
        "setintersection([3, 3.3, 4], [4, 3.3, 65, 99], [4.0, 3.3])",
        "[3.3, 4]",
    ),
    (r#"setintersection(["a"], [])"#, "[]"),
    (
        r#"setintersection(["bob", "jane", 3], ["jane", 3, "ajax", 10], ["3", "jane", 26, "nomad"])"#,
        r#"["3", "jane"]"#,
    ),
    (
        r#"setproduct(["development", "staging", "production"], ["app1", "app2"])"#,
        r#"[["development", "app1"], ["development", "app2"], ["staging", "app1"], ["staging", "app2"], ["production", "app1"], ["production", "app2"]]"#,
    ),
    (
        r#"setproduct(["development", "staging", "production"], [])"#,
        "[]",
    ),
    (r#"setproduct(["a"], ["b"])"#, r#"[["a", "b"]]"#),
    (
        r#"setproduct(["staging", "production"], ["a", 2])"#,
        r#"[["staging", "a"], ["staging", "2"], ["production", "a"], ["production", "2"]]"#,
    ),
    (
        r#"setproduct(toset(["b", "a"]), ["x"], [1, 2])"#,
        r#"[["a", "x", 1], ["a", "x", 2], ["b", "x", 1], ["b", "x", 2]]"#,
    ),
    (r#"setsubtract(["a", "b", "c"], ["a", "c"])"#, r#"["b"]"#),
    (
        r#"setunion(setsubtract(["a", "b", "c"], ["a", "c", "d"]), setsubtract(["a", "c", "d"], ["a", "b", "c"]))"#,
        r#"["b", "d"]"#,
    ),
    (r#"setsubtract([], ["a"])"#, "[]"),
    (
        r#"setunion(["a", "b"], ["b", "c"], ["d"])"#,
        r#"["a", "b", "c", "d"]"#,
    ),
    (r#"setunion([], [])"#, "[]"),
    (r#"setunion(["b"], ["a"])"#, r#"["a", "b"]"#),
    (r#"slice(["a", "b", "c", "d"], 1, 3)"#, r#"["b", "c"]"#),
    (r#"slice(["a", "b"], 0, 0)"#, "[]"),
    (r#"slice(["a", "b"], 0, 2)"#, r#"["a", "b"]"#),
    (r#"sort(["e", "d", "a", "x"])"#, r#"["a", "d", "e", "x"]"#),
    ("sort([])", "[]"),
    (r#"sort(["b", "a", "B"])"#, r#"["B", "a", "b"]"#),
    (
        r#"transpose({"a" = ["1", "2"], "b" = ["2", "3"]})"#,
        r#"{ "1" = ["a"], "2" = ["a", "b"], "3" = ["b"] }"#,
    ),
    ("transpose({})", "{}"),
    (r#"transpose({ a = [] })"#, "{}"),
    (
        r#"transpose({ b = ["x"], a = ["x"] })"#,
        r#"{ x = ["a", "b"] }"#,
    ),
    ("values({a = 3, c = 2, d = 1})", "[3, 2, 1]"),
    ("values({})", "[]"),
    (r#"values({b = "x", a = "y"})"#, r#"["y", "x"]"#),
    (r#"zipmap(["a", "b"], [1, 2])"#, "{ a = 1, b = 2 }"),
    ("zipmap([], [])", "{}"),
    (r#"zipmap(["a", "a"], [1, 2])"#, "{ a = 2 }"),
    // ----- encodings
    (r#"base64decode("SGVsbG8gV29ybGQ=")"#, r#""Hello World""#),
    (
        r#"base64decode("YWJjMTIzIT8kKiYoKSctPUB+")"#,
        r#""abc123!?$*&()'-=@~""#,
    ),
    (r#"base64decode("")"#, r#""""#),
    (r#"base64encode("Hello World")"#, r#""SGVsbG8gV29ybGQ=""#),
    (
        r#"base64encode("abc123!?$*&()'-=@~")"#,
        r#""YWJjMTIzIT8kKiYoKSctPUB+""#,
    ),
    (r#"base64encode("")"#, r#""""#),
    (r#"startswith(base64gzip("test"), "H4sIAAAAAAAA/")"#, "true"),
    (r#"startswith(base64gzip(""), "H4sIAAAAAAAA/")"#, "true"),
    (
        r#"length(base64gzip(join("", [for i in range(500) : "x"]))) < 100"#,
        "true",
    ),
    (
        r#"csvdecode("a,b,c\n1,2,3\n4,5,6")"#,
        r#"[{ a = "1", b = "2", c = "3" }, { a = "4", b = "5", c = "6" }]"#,
    ),
    (r#"csvdecode("a,b\n")"#, "[]"),
    (
        r#"csvdecode("name,note\n\"Smith, J\",\"said \"\"hi\"\"\"\r\n")"#,
        r#"[{ name = "Smith, J", note = "said \"hi\"" }]"#,
    ),
    (
        r#"jsondecode("{\"hello\": \"world\"}")"#,
        r#"{ hello = "world" }"#,
    ),
    (r#"jsondecode("true")"#, "true"),
    (r#"jsondecode("[1, \"a\", null]")"#, r#"[1, "a", null]"#),
    (
        r#"jsonencode({"hello" = "world"})"#,
        r#""{\"hello\":\"world\"}""#,
    ),
    (
        r#"jsonencode([1, "a", null, true])"#,
        r#""[1,\"a\",null,true]""#,
    ),
    (r#"jsonencode("<&>")"#, r#""\"\\u003c\\u0026\\u003e\"""#),
    (
        r#"textdecodebase64("SABlAGwAbABvACAAVwBvAHIAbABkAA==", "UTF-16LE")"#,
        r#""Hello World""#,
    ),
    (
        r#"textdecodebase64("YWJjMTIzIT8kKiYoKSctPUB+", "UTF-8")"#,
        r#""abc123!?$*&()'-=@~""#,
    ),
    (
        r#"textdecodebase64("YQBiAGMAMQAyADMAIQA/ACQAKgAmACgAKQAnAC0APQBAAH4A", "UTF-16LE")"#,
        r#""abc123!?$*&()'-=@~""#,
    ),
    (r#"textdecodebase64("6Q==", "ISO-8859-1")"#, r#""é""#),
    (
        r#"textencodebase64("Hello World", "UTF-16LE")"#,
        r#""SABlAGwAbABvACAAVwBvAHIAbABkAA==""#,
    ),
    (
        r#"textencodebase64("abc123!?$*&()'-=@~", "UTF-8")"#,
        r#""YWJjMTIzIT8kKiYoKSctPUB+""#,
    ),
    (
        r#"textencodebase64("abc123!?$*&()'-=@~", "UTF-16LE")"#,
        r#""YQBiAGMAMQAyADMAIQA/ACQAKgAmACgAKQAnAC0APQBAAH4A""#,
    ),
    (r#"textencodebase64("é", "latin1")"#, r#""6Q==""#),
    (r#"textencodebase64("€", "windows-1252")"#, r#""gA==""#),
    (r#"urlencode("Hello World!")"#, r#""Hello+World%21""#),
    (r#"urlencode("☃")"#, r#""%E2%98%83""#),
    (
        r#""http://example.com/search?q=${urlencode("terraform urlencode")}""#,
        r#""http://example.com/search?q=terraform+urlencode""#,
    ),
    (r#"urlencode("abc123-_")"#, r#""abc123-_""#),
    (
        r#"urlencode("foo:bar@localhost?foo=bar&bar=baz")"#,
        r#""foo%3Abar%40localhost%3Ffoo%3Dbar%26bar%3Dbaz""#,
    ),
    (
        r#"urlencode("mailto:email?subject=this+is+my+subject")"#,
        r#""mailto%3Aemail%3Fsubject%3Dthis%2Bis%2Bmy%2Bsubject""#,
    ),
    (r#"urlencode("foo/bar")"#, r#""foo%2Fbar""#),
    (r#"yamldecode("hello: world")"#, r#"{ hello = "world" }"#),
    (r#"yamldecode("true")"#, "true"),
    (
        r#"yamldecode("{a: &foo [1, 2, 3], b: *foo}")"#,
        "{ a = [1, 2, 3], b = [1, 2, 3] }",
    ),
    (
        r#"yamlencode({"a" = "b", "c" = "d"})"#,
        r#""\"a\": \"b\"\n\"c\": \"d\"\n""#,
    ),
    (
        r#"yamlencode({"foo" = [1, 2, 3], "bar" = "baz"})"#,
        r#""\"bar\": \"baz\"\n\"foo\":\n- 1\n- 2\n- 3\n""#,
    ),
    (
        r#"yamlencode({"foo" = [1, {"a" = "b", "c" = "d"}, 3], "bar" = "baz"})"#,
        r#""\"bar\": \"baz\"\n\"foo\":\n- 1\n- \"a\": \"b\"\n  \"c\": \"d\"\n- 3\n""#,
    ),
    // ----- hashes and UUIDs
    (
        r#"base64sha256("hello world")"#,
        r#""uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=""#,
    ),
    (
        r#"base64sha256("test")"#,
        r#""n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=""#,
    ),
    (
        r#"base64sha256("")"#,
        r#""47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=""#,
    ),
    (
        r#"base64sha512("hello world")"#,
        r#""MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDaNCVbRbDP2DDoH2Bdz33FVC6TrpzXbw==""#,
    ),
    (
        r#"base64sha512("test")"#,
        r#""7iaw3Ur350mqGo7jwQrpkj9hiYB3Lkc/iBml1JQODbJ6wYX4oOHV+E+IvIh/1nsUNzLDBMxfqa2Ob1f1ACio/w==""#,
    ),
    (
        r#"base64sha512("")"#,
        r#""z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==""#,
    ),
    (
        r#"md5("hello world")"#,
        r#""5eb63bbbe01eeed093cb22bb8f5acdc3""#,
    ),
    (r#"md5("tada")"#, r#""ce47d07243bb6eaf5e1322c81baf9bbf""#),
    (r#"md5(" tada ")"#, r#""aadf191a583e53062de2d02c008141c4""#),
    (r#"md5("")"#, r#""d41d8cd98f00b204e9800998ecf8427e""#),
    (
        r#"sha1("hello world")"#,
        r#""2aae6c35c94fcfb415dbe95f408b9ce91ee846ed""#,
    ),
    (
        r#"sha1("test")"#,
        r#""a94a8fe5ccb19ba61c4c0873d391e987982fbbd3""#,
    ),
    (
        r#"sha1("")"#,
        r#""da39a3ee5e6b4b0d3255bfef95601890afd80709""#,
    ),
    (
        r#"sha256("hello world")"#,
        r#""b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9""#,
    ),
    (
        r#"sha256("test")"#,
        r#""9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08""#,
    ),
    (
        r#"sha256("")"#,
        r#""e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855""#,
    ),
    (
        r#"sha512("hello world")"#,
        r#""309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f""#,
    ),
    (
        r#"sha512("test")"#,
        r#""ee26b0dd4af7e749aa1a8ee3c10ae9923f618980772e473f8819a5d4940e0db27ac185f8a0e1d5f84f88bc887fd67b143732c304cc5fa9ad8e6f57f50028a8ff""#,
    ),
    (
        r#"sha512("")"#,
        r#""cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e""#,
    ),
    (
        r#"length(regexall("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", uuid()))"#,
        "1",
    ),
    ("length(uuid())", "36"),
    ("uuid() != uuid()", "true"),
    (
        r#"uuidv5("dns", "www.terraform.io")"#,
        r#""a5008fae-b28c-5ba5-96cd-82b4c53552d6""#,
    ),
    (
        r#"uuidv5("url", "https://www.terraform.io/")"#,
        r#""9db6f67c-dd95-5ea0-aa5b-e70e5c5f7cf5""#,
    ),
    (
        r#"uuidv5("oid", "1.3.6.1.4")"#,
        r#""af9d40a5-7a36-5c07-b23a-851cd99fbfa5""#,
    ),
    (
        r#"uuidv5("x500", "CN=Example,C=GB")"#,
        r#""84e09961-4aa4-57f8-95b7-03edb1073253""#,
    ),
    (
        r#"uuidv5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.terraform.io")"#,
        r#""a5008fae-b28c-5ba5-96cd-82b4c53552d6""#,
    ),
    (
        r#"uuidv5("743ac3c0-3bf7-4a5b-9e6c-59360447c757", "LIBS:diskfont.library")"#,
        r#""ede1a974-df7e-5f17-84b9-76208818b2c8""#,
    ),
    (
        r#"uuidv5("dns", "tada")"#,
        r#""faa898db-9b9d-5b75-86a9-149e7bb8e3b8""#,
    ),
    (
        r#"uuidv5("url", "tada")"#,
        r#""2c1ff6b4-211f-577e-94de-d978b0caa16e""#,
    ),
    (
        r#"uuidv5("oid", "tada")"#,
        r#""61eeea26-5176-5288-87fc-232d6ed30d2f""#,
    ),
    (
        r#"uuidv5("x500", "tada")"#,
        r#""7e12415e-f7c9-57c3-9e43-52dc9950d264""#,
    ),
    // ----- files (the module directory holds hello.txt, "Hello World")
    (r#"file("${path.module}/hello.txt")"#, r#""Hello World""#),
    (r#"file("hello.txt")"#, r#""Hello World""#),
    (r#"file("./files/../hello.txt")"#, r#""Hello World""#),
    (r#"fileexists("${path.module}/hello.txt")"#, "true"),
    (r#"fileexists("missing.txt")"#, "false"),
    (r#"fileexists("files/hello.txt")"#, "true"),
    (
        r#"filebase64("${path.module}/hello.txt")"#,
        r#""SGVsbG8gV29ybGQ=""#,
    ),
    (r#"filebase64("empty.txt")"#, r#""""#),
    (r#"filebase64("bin.dat")"#, r#""//4=""#),
    (
        r#"filemd5("hello.txt")"#,
        r#""b10a8db164e0754105b7a99be72e3fe5""#,
    ),
    (
        r#"filemd5("empty.txt")"#,
        r#""d41d8cd98f00b204e9800998ecf8427e""#,
    ),
    (r#"filemd5("big.txt") == md5(file("big.txt"))"#, "true"),
    (
        r#"filesha1("hello.txt")"#,
        r#""0a4d55a8d778e5022fab701977c5d840bbc486d0""#,
    ),
    (
        r#"filesha1("empty.txt")"#,
        r#""da39a3ee5e6b4b0d3255bfef95601890afd80709""#,
    ),
    (r#"filesha1("big.txt") == sha1(file("big.txt"))"#, "true"),
    (
        r#"filesha256("hello.txt")"#,
        r#""a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e""#,
    ),
    (
        r#"filesha256("empty.txt")"#,
        r#""e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855""#,
    ),
    (
        r#"filesha256("big.txt") == sha256(file("big.txt"))"#,
        "true",
    ),
    (
        r#"filesha512("hello.txt")"#,
        r#""2c74fd17edafd80e8447b0d46741ee243b7eb74dd2149a0ab1b9246fb30382f27e853d8585719e0e67cbda0daa8f51671064615d645ae27acb15bfb1447f459b""#,
    ),
    (
        r#"filesha512("empty.txt")"#,
        r#""cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e""#,
    ),
    (
        r#"filesha512("big.txt") == sha512(file("big.txt"))"#,
        "true",
    ),
    (
        r#"filebase64sha256("hello.txt")"#,
        r#""pZGm1Av0IEBKARczz7exkNYsZb8LzaMrV7J32a2fFG4=""#,
    ),
    (
        r#"filebase64sha256("empty.txt")"#,
        r#""47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=""#,
    ),
    (
        r#"filebase64sha256("big.txt") == base64sha256(file("big.txt"))"#,
        "true",
    ),
    (
        r#"filebase64sha512("hello.txt")"#,
        r#""LHT9F+2v2A6ER7DUZ0HuJDt+t03SFJoKsbkkb7MDgvJ+hT2FhXGeDmfL2g2qj1FnEGRhXWRa4nrLFb+xRH9Fmw==""#,
    ),
    (
        r#"filebase64sha512("empty.txt")"#,
        r#""z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==""#,
    ),
    (
        r#"filebase64sha512("big.txt") == base64sha512(file("big.txt"))"#,
        "true",
    ),
    (
        r#"fileset(path.module, "files/*.txt")"#,
        r#"["files/hello.txt", "files/world.txt"]"#,
    ),
    (
        r#"fileset(path.module, "files/{hello,world}.txt")"#,
        r#"["files/hello.txt", "files/world.txt"]"#,
    ),
    (
        r#"fileset("${path.module}/files", "*")"#,
        r#"["hello.txt", "world.txt"]"#,
    ),
    (
        r#"fileset("${path.module}/files", "**")"#,
        r#"["hello.txt", "subdirectory/anotherfile.txt", "world.txt"]"#,
    ),
    (r#"fileset(".", "files*")"#, "[]"),
    (r#"fileset(".", "files")"#, "[]"),
    (r#"fileset(".", "{files,missing}")"#, "[]"),
    (r#"fileset(".", "*/missing")"#, "[]"),
    (r#"fileset(".", "**/missing")"#, "[]"),
    (
        r#"fileset(".", "files/hello.???")"#,
        r#"["files/hello.txt"]"#,
    ),
    (
        r#"fileset(".", "**/*.txt")"#,
        r#"["big.txt", "empty.txt", "files/hello.txt", "files/subdirectory/anotherfile.txt", "files/world.txt", "hello.txt"]"#,
    ),
    (
        r#"fileset("files", "./sub*/../world.txt")"#,
        r#"["world.txt"]"#,
    ),
    (r#"fileset("files", "missing")"#, "[]"),
    (r#"basename("foo/bar/baz.txt")"#, r#""baz.txt""#),
    (r#"basename("foo/bar/")"#, r#""bar""#),
    (r#"basename("")"#, r#"".""#),
    (r#"basename("/")"#, r#""/""#),
    (r#"basename("baz.txt")"#, r#""baz.txt""#),
    (r#"dirname("foo/bar/baz.txt")"#, r#""foo/bar""#),
    (r#"dirname("foo")"#, r#"".""#),
    (r#"dirname("/foo")"#, r#""/""#),
    (r#"dirname("foo/bar/")"#, r#""foo/bar""#),
    (r#"dirname("")"#, r#"".""#),
    (r#"abspath("/a/b/../c")"#, r#""/a/c""#),
    (r#"abspath("/")"#, r#""/""#),
    (r#"abspath(path.root) == path.root"#, "true"),
    (r#"startswith(abspath("x"), "/")"#, "true"),
    (r#"pathexpand("/etc/resolv.conf")"#, r#""/etc/resolv.conf""#),
    (r#"pathexpand("relative/~")"#, r#""relative/~""#),
    (r#"pathexpand("")"#, r#""""#),
    // ----- dates and times
    (
        r#"formatdate("DD MMM YYYY hh:mm ZZZ", "2018-01-02T23:12:01Z")"#,
        r#""02 Jan 2018 23:12 UTC""#,
    ),
    (
        r#"formatdate("EEEE, DD-MMM-YY hh:mm:ss ZZZ", "2018-01-02T23:12:01Z")"#,
        r#""Tuesday, 02-Jan-18 23:12:01 UTC""#,
    ),
    (
        r#"formatdate("EEE, DD MMM YYYY hh:mm:ss ZZZ", "2018-01-02T23:12:01-08:00")"#,
        r#""Tue, 02 Jan 2018 23:12:01 -0800""#,
    ),
    (
        r#"formatdate("MMM DD, YYYY", "2018-01-02T23:12:01Z")"#,
        r#""Jan 02, 2018""#,
    ),
    (
        r#"formatdate("HH:mmaa", "2018-01-02T23:12:01Z")"#,
        r#""11:12pm""#,
    ),
    (
        r#"formatdate("h'h'mm", "2018-01-02T23:12:01-08:00")"#,
        r#""23h12""#,
    ),
    (
        r#"formatdate("H 'o''clock'", "2018-01-02T23:12:01-08:00")"#,
        r#""11 o'clock""#,
    ),
    (
        r#"formatdate("YYYY-MM-DD'T'hh:mm:ssZ", "2018-01-02T23:12:01Z")"#,
        r#""2018-01-02T23:12:01Z""#,
    ),
    (
        r#"formatdate("M/D/YY h:m:s", "2018-01-02T03:04:05Z")"#,
        r#""1/2/18 3:4:5""#,
    ),
    (
        r#"formatdate("MMMM EEEE AA H", "2018-01-02T00:04:05Z")"#,
        r#""January Tuesday AM 12""#,
    ),
    (
        r#"formatdate("ZZZZZ ZZZZ ZZZ Z", "2018-01-02T23:12:01+05:30")"#,
        r#""+05:30 +0530 +0530 +05:30""#,
    ),
    (
        r#"formatdate("ZZZZZ ZZZZ", "2018-01-02T23:12:01Z")"#,
        r#""+00:00 +0000""#,
    ),
    (
        r#"timeadd("2024-08-16T12:45:05Z", "10m")"#,
        r#""2024-08-16T12:55:05Z""#,
    ),
    (
        r#"timeadd("2024-08-16T12:45:05Z", "-10m")"#,
        r#""2024-08-16T12:35:05Z""#,
    ),
    (
        r#"timeadd("2017-11-22T00:00:00Z", "1h30m")"#,
        r#""2017-11-22T01:30:00Z""#,
    ),
    (
        r#"timeadd("2017-11-22T23:30:00-05:00", "1h")"#,
        r#""2017-11-23T00:30:00-05:00""#,
    ),
    (
        r#"timeadd("2020-02-28T12:00:00Z", "24h")"#,
        r#""2020-02-29T12:00:00Z""#,
    ),
    (
        r#"timeadd("2017-11-22T00:00:00.5Z", "1.5s")"#,
        r#""2017-11-22T00:00:02Z""#,
    ),
    (
        r#"timecmp("2017-11-22T00:00:00Z", "2017-11-22T00:00:00Z")"#,
        "0",
    ),
    (
        r#"timecmp("2017-11-22T00:00:00Z", "2017-11-22T01:00:00Z")"#,
        "-1",
    ),
    (
        r#"timecmp("2017-11-22T01:00:00Z", "2017-11-22T00:00:00Z")"#,
        "1",
    ),
    (
        r#"timecmp("2017-11-22T01:00:00Z", "2017-11-22T00:00:00-01:00")"#,
        "0",
    ),
    (
        r#"timecmp("2017-11-22T00:00:00Z", "2017-11-22T01:00:00+01:00")"#,
        "0",
    ),
    (
        r#"timecmp("2017-11-22T00:00:01Z", "2017-11-22T01:00:00+01:00")"#,
        "1",
    ),
    (
        r#"timecmp("2017-11-22T01:00:00Z", "2017-11-22T00:59:00-01:00")"#,
        "-1",
    ),
    (
        r#"timecmp("2017-11-22T01:00:00+01:00", "2017-11-22T01:00:00-01:00")"#,
        "-1",
    ),
    (
        r#"timecmp("2017-11-22T01:00:00-01:00", "2017-11-22T01:00:00+01:00")"#,
        "1",
    ),
    (r#"timecmp(timestamp(), "2020-01-01T00:00:00Z")"#, "1"),
    (r#"endswith(timestamp(), "Z")"#, "true"),
    (r#"length(timestamp())"#, "20"),
    ("plantimestamp() == plantimestamp()", "true"),
    (r#"timecmp(plantimestamp(), timestamp()) <= 0"#, "true"),
    (r#"length(formatdate("YYYY", plantimestamp()))"#, "4"),
    // ----- networking
    (r#"cidrhost("10.12.112.0/20", 16)"#, r#""10.12.112.16""#),
    (r#"cidrhost("10.12.112.0/20", 268)"#, r#""10.12.113.12""#),
    (
        r#"cidrhost("fd00:fd12:3456:7890:00a2::/72", 34)"#,
        r#""fd00:fd12:3456:7890::22""#,
    ),
    (r#"cidrhost("10.1.2.240/28", 1)"#, r#""10.1.2.241""#),
    (r#"cidrhost("10.1.2.240/28", 14)"#, r#""10.1.2.254""#),
    (r#"cidrhost("10.1.2.240/28", -1)"#, r#""10.1.2.255""#),
    (r#"cidrnetmask("172.16.0.0/12")"#, r#""255.240.0.0""#),
    (r#"cidrnetmask("10.0.0.0/32")"#, r#""255.255.255.255""#),
    (r#"cidrnetmask("0.0.0.0/0")"#, r#""0.0.0.0""#),
    (r#"cidrsubnet("172.16.0.0/12", 4, 2)"#, r#""172.18.0.0/16""#),
    (r#"cidrsubnet("10.1.2.0/24", 4, 15)"#, r#""10.1.2.240/28""#),
    (
        r#"cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)"#,
        r#""fd00:fd12:3456:7800:a200::/72""#,
    ),
    (
        r#"cidrsubnets("10.1.0.0/16", 4, 4, 8, 4)"#,
        r#"["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/24", "10.1.48.0/20"]"#,
    ),
    (
        r#"cidrsubnets("fd00:fd12:3456:7890::/56", 16, 16, 16, 32)"#,
        r#"["fd00:fd12:3456:7800::/72", "fd00:fd12:3456:7800:100::/72", "fd00:fd12:3456:7800:200::/72", "fd00:fd12:3456:7800:300::/88"]"#,
    ),
    (
        r#"[for cidr_block in cidrsubnets("10.0.0.0/8", 8, 8, 8, 8) : cidrsubnets(cidr_block, 4, 4)]"#,
        r#"[["10.0.0.0/20", "10.0.16.0/20"], ["10.1.0.0/20", "10.1.16.0/20"], ["10.2.0.0/20", "10.2.16.0/20"], ["10.3.0.0/20", "10.3.16.0/20"]]"#,
    ),
    // ----- type conversions and sensitivity
    ("tobool(true)", "true"),
    (r#"tobool("true")"#, "true"),
    ("tobool(null)", "null"),
    (r#"tolist(["a", "b", "c"])"#, r#"["a", "b", "c"]"#),
    (r#"tolist(["a", "b", 3])"#, r#"["a", "b", "3"]"#),
    ("tolist([])", "[]"),
    (r#"tomap({"a" = 1, "b" = 2})"#, "{ a = 1, b = 2 }"),
    (
        r#"tomap({"a" = "foo", "b" = true})"#,
        r#"{ a = "foo", b = "true" }"#,
    ),
    ("tomap({})", "{}"),
    ("tonumber(1)", "1"),
    (r#"tonumber("1")"#, "1"),
    ("tonumber(null)", "null"),
    (r#"toset(["a", "b", "c"])"#, r#"["a", "b", "c"]"#),
    (r#"toset(["a", "b", 3])"#, r#"["3", "a", "b"]"#),
    (r#"toset(["c", "b", "b"])"#, r#"["b", "c"]"#),
    (r#"tostring("hello")"#, r#""hello""#),
    ("tostring(1)", r#""1""#),
    ("tostring(true)", r#""true""#),
    ("tostring(null)", "null"),
    (r#"issensitive(sensitive("secret"))"#, "true"),
    (r#"issensitive("hello")"#, "false"),
    ("issensitive(var.secret)", "true"),
    ("issensitive(local.from_secret)", "true"),
    ("issensitive(nonsensitive(var.secret))", "false"),
    (r#"sensitive("x")"#, r#""x""#),
    (r#"ephemeralasnull("x")"#, r#""x""#),
    ("ephemeralasnull(null)", "null"),
    ("ephemeralasnull({ a = [1] })", "{ a = [1] }"),
    ("nonsensitive(var.secret)", r#""s3cr3t""#),
    (r#"nonsensitive(sensitive(1))"#, "1"),
];

/// `(expression, a part of the error Terraform gives)`.
const FAILURES: &[(&str, &str)] = &[
    (
        r#"coalesce({}, "hello")"#,
        "all arguments must have the same type",
    ),
    (
        r#"one(["hello", "goodbye"])"#,
        "with either zero or one elements",
    ),
    (
        r#"one(toset(["hello", "goodbye"]))"#,
        "with either zero or one elements",
    ),
    (r#"tobool("no")"#, r#"cannot convert "no" to bool"#),
    ("tobool(1)", "cannot convert number to bool"),
    (r#"tonumber("no")"#, r#"cannot convert "no" to number"#),
    ("tostring([])", "cannot convert"),
    (r#"yamldecode("{a: &foo [1, *foo, 3]}")"#, "yamldecode"),
    (
        r#"regex("[a-z]+", "53453453.34534523454")"#,
        "pattern did not match any part of the given string",
    ),
    (
        r#"regex("(a)(?P<b>b)", "ab")"#,
        "cannot mix both named and unnamed capture groups",
    ),
    (r#"regex("(", "x")"#, "invalid regular expression pattern"),
    (
        r#"regexall("[", "x")"#,
        "invalid regular expression pattern",
    ),
    (r#"log(-1, 10)"#, "not a finite number"),
    (
        r#"parseint("12", 2)"#,
        r#"cannot parse "12" as a base 2 integer"#,
    ),
    (
        r#"parseint("FF", 10)"#,
        r#"cannot parse "FF" as a base 10 integer"#,
    ),
    (
        r#"parseint("", 10)"#,
        r#"cannot parse "" as a base 10 integer"#,
    ),
    (
        "parseint(100, 10)",
        "first argument must be a string, not number",
    ),
    (
        r#"parseint("1", 63)"#,
        "base must be a whole number between 2 and 62",
    ),
    (
        r#"setproduct(["a"])"#,
        "at least two arguments are required",
    ),
    (
        "setproduct(range(1000), range(1000), range(1000))",
        "more than 1000000 elements",
    ),
    (
        r#"transpose({ a = [null] })"#,
        "lists must not contain null values",
    ),
    (
        r#"matchkeys(["a"], ["x", "y"], ["x"])"#,
        "length of keys and values should be equal",
    ),
    (r#"csvdecode("")"#, "missing header line"),
    (r#"csvdecode("a,b\n1,2,3")"#, "wrong number of fields"),
    (r#"csvdecode("a,a\n1,2")"#, "duplicate column name \"a\""),
    (
        r#"csvdecode("a\n\"open")"#,
        "extraneous or missing \" in quoted-field",
    ),
    (
        r#"textencodebase64("abc", "NOT-EXISTS")"#,
        "\"NOT-EXISTS\" is not an encoding",
    ),
    (
        r#"textencodebase64("🤔", "US-ASCII")"#,
        "cannot be represented in US-ASCII",
    ),
    (
        r#"textdecodebase64("gQ==", "windows-1252")"#,
        "not defined for windows-1252",
    ),
    (
        r#"textdecodebase64("<invalid base64>", "UTF-8")"#,
        "not valid base64",
    ),
    (
        r#"uuidv5("tada", "tada")"#,
        "is neither \"dns\", \"url\", \"oid\" nor \"x500\" nor a UUID",
    ),
    (
        r#"formatdate("YYY", "2018-01-02T23:12:01Z")"#,
        "invalid date format verb \"YYY\"",
    ),
    (
        r#"formatdate("DD", "2018-01-02")"#,
        "not a valid RFC3339 timestamp",
    ),
    (
        r#"formatdate("x", "2018-01-02T23:12:01Z")"#,
        "invalid date format verb \"x\"",
    ),
    (
        r#"formatdate("'open", "2018-01-02T23:12:01Z")"#,
        "unterminated literal",
    ),
    (
        r#"timeadd("2017-11-22T00:00:00Z", "1d")"#,
        "unknown unit \"d\" in duration \"1d\"",
    ),
    (
        r#"timeadd("2017-11-22T00:00:00Z", "1")"#,
        "missing unit in duration \"1\"",
    ),
    (r#"timeadd("bloop", "1h")"#, "not a valid RFC3339 timestamp"),
    (
        r#"timeadd("9999-12-31T23:00:00Z", "2h")"#,
        "outside the years 0000 to 9999",
    ),
    (
        r#"timecmp("2017-11-22T00:00:00Z", "bloop")"#,
        "not a valid RFC3339 timestamp",
    ),
    (
        r#"timecmp("2017-11-22 00:00:00Z", "2017-11-22T00:00:00Z")"#,
        "missing required time introducer 'T'",
    ),
    (
        r#"timecmp("2017-02-30T00:00:00Z", "2017-11-22T00:00:00Z")"#,
        "day out of range",
    ),
    (r#"filebase64("missing.txt")"#, "no file exists at"),
    (r#"filebase64("files")"#, "is a directory"),
    (r#"filemd5("missing.txt")"#, "no file exists at"),
    (r#"filesha1("missing.txt")"#, "no file exists at"),
    (r#"filesha256("files")"#, "is a directory"),
    (r#"filesha512("missing.txt")"#, "no file exists at"),
    (r#"filebase64sha256("missing.txt")"#, "no file exists at"),
    (r#"filebase64sha512("missing.txt")"#, "no file exists at"),
    (r#"filesha256("/dev/null")"#, "is not a regular file"),
    (r#"fileset(".", "[")"#, "syntax error in pattern"),
    (r#"fileset(".", "\\")"#, "syntax error in pattern"),
    (r#"fileset(".", "{a,b")"#, "syntax error in pattern"),
    (
        r#"templatestring("Hello, $${name}", {})"#,
        "must be a direct reference",
    ),
    (r#"templatestring(local.greeting, {})"#, "in the template"),
    (
        r#"templatestring(local.broken, {})"#,
        "is not a valid template",
    ),
    ("issensitive()", "issensitive: expected 1 argument"),
];

/// The module every case is evaluated in: a sensitive variable, a few
/// locals, and files.
const PREAMBLE: &str = r#"
variable "name" {
  type = string
}

variable "secret" {
  type      = string
  sensitive = true
}

locals {
  greeting    = "Hello, $${name}!"
  listing     = "%%{ for i in items }$${i};%%{ endfor }"
  broken      = "$${"
  templates   = { plain = "no variables" }
  from_secret = "prefix-${var.secret}"
}
"#;

fn module_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let write = |path: &str, bytes: &[u8]| {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, bytes).expect("write");
    };
    write("hello.txt", b"Hello World");
    write("empty.txt", b"");
    write("bin.dat", &[0xff, 0xfe]);
    // Larger than the 64 KiB the file hashes read at a time.
    let big: String = (0..20_000).map(|i| format!("{i},")).collect();
    write("big.txt", big.as_bytes());
    write("greeting.tpl", b"Hello, ${name}!");
    write("list.tpl", b"%{ for i in items }${i};%{ endfor }");
    write("files/hello.txt", b"hello");
    write("files/world.txt", b"world");
    write("files/subdirectory/anotherfile.txt", b"another");
    dir
}

/// Evaluates `got` and `want` as two locals of the module in `dir`.
fn eval_pair(dir: &Path, got: &str, want: &str) -> (Result<Value, String>, Result<Value, String>) {
    let src = format!("{PREAMBLE}\nlocals {{\n  got = {got}\n  want = {want}\n}}\n");
    let (config, diags) = Config::from_sources(dir, vec![(dir.join("main.tf"), src)]);
    if !diags.is_empty() {
        let msg = format!("the case does not parse: {diags:?}");
        return (Err(msg.clone()), Err(msg));
    }
    let vars: BTreeMap<String, Value> = [
        ("name".to_string(), Value::from("Valentina")),
        ("secret".to_string(), Value::from("s3cr3t")),
    ]
    .into_iter()
    .collect();
    let locals = LocalCache::default();
    let scope = Scope::new(&config, &vars, &NothingKnown, &locals);
    let eval = |name: &str| scope.eval(&config.locals[name].expr).map_err(|d| d.message);
    (eval("got"), eval("want"))
}

/// Runs `f` with a fresh module directory (relative paths in the cases,
/// like `fileset(".", ...)`, are relative to it, as to `path.module`).
fn in_module<T>(f: impl FnOnce(&Path) -> T) -> T {
    let dir = module_dir();
    f(dir.path())
}

#[test]
fn functions_give_what_terraform_gives() {
    let failures: Vec<String> = in_module(|dir| {
        CASES
            .iter()
            .filter_map(|(expr, expected)| match eval_pair(dir, expr, expected) {
                (Ok(got), Ok(want)) if got == want => None,
                (got, want) => Some(format!("{expr}\n    got:  {got:?}\n    want: {want:?}")),
            })
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Terraform:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn functions_fail_where_terraform_fails() {
    let failures: Vec<String> = in_module(|dir| {
        FAILURES
            .iter()
            .filter_map(|(expr, needle)| match eval_pair(dir, expr, "null").0 {
                Err(message) if message.contains(needle) => None,
                Err(message) => Some(format!(
                    "{expr}\n    error: {message}\n    wanted: {needle}"
                )),
                Ok(v) => Some(format!(
                    "{expr}\n    gave {v:?}, wanted an error with {needle}"
                )),
            })
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} failures differ:\n{}",
        failures.len(),
        FAILURES.len(),
        failures.join("\n")
    );
}

/// Every function has at least three cases, so a new one comes with its
/// examples.
#[test]
fn every_function_has_three_cases() {
    let exprs: Vec<&str> = CASES
        .iter()
        .map(|(e, _)| *e)
        .chain(FAILURES.iter().map(|(e, _)| *e))
        .collect();
    let mut names: Vec<&str> = stackd_spec::functions::function_names().to_vec();
    names.push("templatestring");
    let thin: Vec<String> = names
        .iter()
        .filter_map(|name| {
            let call = format!("{name}(");
            let n = exprs
                .iter()
                .filter(|e| {
                    e.match_indices(&call).any(|(i, _)| {
                        !e[..i]
                            .chars()
                            .next_back()
                            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                    })
                })
                .count();
            (n < 3).then(|| format!("{name}: {n}"))
        })
        .collect();
    assert!(
        thin.is_empty(),
        "functions with fewer than three cases: {thin:?}"
    );
}
