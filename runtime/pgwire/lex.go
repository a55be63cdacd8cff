package pgwire

import (
	"strconv"
	"strings"
)

// token is a piece of SQL text as the lexer sees it: SQL proper, something quoted or a comment
// (kept as they are), a statement separator, or a positional parameter ($1).
type token struct {
	kind tokenKind
	text string
	// param is the parameter's number (kind tokParam).
	param int
}

type tokenKind int

const (
	tokSQL tokenKind = iota
	tokQuoted
	tokComment
	tokSemicolon
	tokParam
)

// lex splits q into tokens. It knows what hides a semicolon or a $1 from SQL: string literals
// ('…', a quote inside doubled; E'…' with backslash escapes), quoted identifiers ("…"), dollar-quoted
// strings ($tag$…$tag$), line comments (-- …) and block comments (/* … */, nested). An
// unterminated one runs to the end of q (the engine reports it).
func lex(q string) []token {
	var out []token
	sql := 0 // start of the pending SQL text
	flush := func(end int) {
		if end > sql {
			out = append(out, token{kind: tokSQL, text: q[sql:end]})
		}
	}
	for i := 0; i < len(q); {
		c := q[i]
		var kind tokenKind
		var end int
		switch {
		case c == '\'' && i > 0 && (q[i-1] == 'E' || q[i-1] == 'e') && (i < 2 || !isIdent(q[i-2])):
			// E'…': the E is already in the SQL text; the literal runs with backslash escapes.
			kind, end = tokQuoted, quotedEnd(q, i, '\'', true)
		case c == '\'' || c == '"':
			kind, end = tokQuoted, quotedEnd(q, i, c, false)
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			kind, end = tokComment, lineEnd(q, i)
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			kind, end = tokComment, blockCommentEnd(q, i)
		case c == ';':
			kind, end = tokSemicolon, i+1
		case c == '$' && (i == 0 || !isIdent(q[i-1])):
			if n, e, ok := paramAt(q, i); ok {
				flush(i)
				out = append(out, token{kind: tokParam, text: q[i:e], param: n})
				i, sql = e, e
				continue
			}
			if e, ok := dollarQuoteEnd(q, i); ok {
				kind, end = tokQuoted, e
				break
			}
			i++
			continue
		default:
			i++
			continue
		}
		flush(i)
		out = append(out, token{kind: kind, text: q[i:end]})
		i, sql = end, end
	}
	flush(len(q))
	return out
}

func isIdent(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// quotedEnd is the index after the quote closing the one at q[i]; a doubled quote is one quote
// inside, and with backslashes a backslash escapes the next byte.
func quotedEnd(q string, i int, quote byte, backslashes bool) int {
	for j := i + 1; j < len(q); j++ {
		switch {
		case backslashes && q[j] == '\\':
			j++
		case q[j] == quote:
			if j+1 < len(q) && q[j+1] == quote {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(q)
}

func lineEnd(q string, i int) int {
	if j := strings.IndexByte(q[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(q)
}

func blockCommentEnd(q string, i int) int {
	depth := 0
	for j := i; j+1 < len(q); j++ {
		switch {
		case q[j] == '/' && q[j+1] == '*':
			depth++
			j++
		case q[j] == '*' && q[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(q)
}

// paramAt reads a positional parameter ($ and digits, not followed by an identifier's
// character) at q[i].
func paramAt(q string, i int) (n, end int, ok bool) {
	j := i + 1
	for j < len(q) && q[j] >= '0' && q[j] <= '9' {
		j++
	}
	if j == i+1 || j < len(q) && isIdent(q[j]) {
		return 0, 0, false
	}
	n, err := strconv.Atoi(q[i+1 : j])
	if err != nil || n < 1 || n > maxParams {
		return 0, 0, false
	}
	return n, j, true
}

// maxParams is the protocol's bound on a statement's parameters (an Int16 count).
const maxParams = 65535

// dollarQuoteEnd reads a dollar-quoted string ($$…$$ or $tag$…$tag$) at q[i].
func dollarQuoteEnd(q string, i int) (int, bool) {
	j := i + 1
	for j < len(q) && q[j] != '$' {
		if !isIdent(q[j]) || q[j] >= '0' && q[j] <= '9' && j == i+1 {
			return 0, false
		}
		j++
	}
	if j >= len(q) {
		return 0, false
	}
	tag := q[i : j+1]
	if k := strings.Index(q[j+1:], tag); k >= 0 {
		return j + 1 + k + len(tag), true
	}
	return len(q), true
}

// statement is one statement of a query string: its tokens, without the separator.
type statement []token

// statements splits q at its semicolons; statements holding only blanks and comments are left
// out.
func statements(q string) []statement {
	var out []statement
	var cur statement
	keep := func() {
		if !cur.blank() {
			out = append(out, cur)
		}
		cur = nil
	}
	for _, t := range lex(q) {
		if t.kind == tokSemicolon {
			keep()
			continue
		}
		cur = append(cur, t)
	}
	keep()
	return out
}

func (s statement) blank() bool {
	for _, t := range s {
		if t.kind != tokComment && strings.TrimSpace(t.text) != "" {
			return false
		}
	}
	return true
}

// String is the statement's text.
func (s statement) String() string {
	var b strings.Builder
	for _, t := range s {
		b.WriteString(t.text)
	}
	return b.String()
}

// params is the number of parameters the statement takes: its highest $n.
func (s statement) params() int {
	n := 0
	for _, t := range s {
		if t.kind == tokParam && t.param > n {
			n = t.param
		}
	}
	return n
}

// bind is the statement's text with each $n replaced by literals[n-1].
func (s statement) bind(literals []string) string {
	var b strings.Builder
	for _, t := range s {
		if t.kind == tokParam {
			b.WriteString(literals[t.param-1])
			continue
		}
		b.WriteString(t.text)
	}
	return b.String()
}

// firstWords is the statement's first n words of SQL (comments skipped), upper-cased.
func (s statement) firstWords(n int) []string {
	var words []string
	for _, t := range s {
		if t.kind == tokComment {
			continue
		}
		if t.kind != tokSQL {
			break
		}
		for _, w := range strings.Fields(t.text) {
			words = append(words, strings.ToUpper(w))
			if len(words) == n {
				return words
			}
		}
	}
	return words
}
