package introspect

import (
	"regexp"
	"strings"

	"github.com/resolute-run/resolute/runtime/ids"
)

// pushDown finds, in q, the invocations a table can only be seen through: a condition
// "[alias.]id = 'inv_…'" or "[alias.]id IN ('inv_…', …)" joined by AND to the rest of the WHERE
// clause of a query with one SELECT, no OR, NOT, CASE or set operation. Every row such a query
// returns then has that id, whatever else it says (WHERE applies to the joined rows before
// any grouping), so reading only those invocations of the table answers it the same. Anything
// else reads the whole table (nil). An unqualified id counts only when q names one table.
//
// It is what makes an operator's question about one invocation (the CLI's invocations describe,
// the console's invocation page) read that invocation and its journal instead of every
// partition's tables.
func pushDown(q string, named map[string]bool) map[string][]ids.InvocationID {
	masked := strings.ToLower(commentRE.ReplaceAllStringFunc(maskLiterals(q), func(c string) string { return strings.Repeat(" ", len(c)) }))
	if len(selectRE.FindAllStringIndex(masked, -1)) != 1 || unsafeRE.MatchString(isNotRE.ReplaceAllString(masked, "is")) {
		return nil
	}
	where := whereRE.FindStringIndex(masked)
	if where == nil {
		return nil
	}
	end := len(masked)
	if m := afterWhereRE.FindStringIndex(masked[where[1]:]); m != nil {
		end = where[1] + m[0]
	}
	aliases := map[string]string{} // alias or table name → table
	for _, m := range tableRefRE.FindAllStringSubmatch(masked[:where[0]], -1) {
		t := m[1]
		if _, ok := tableByName(t); !ok {
			continue
		}
		aliases[t] = t
		if a := m[2]; a != "" && !keywords[a] {
			aliases[a] = t
		}
	}
	mentions := map[string]int{} // how often q names each table
	for _, w := range wordRE.FindAllString(masked, -1) {
		mentions[w]++
	}
	out := map[string][]ids.InvocationID{}
	seen := map[string]bool{}
	for _, m := range idCondRE.FindAllStringSubmatchIndex(masked[where[0]:end], -1) {
		qual := ""
		if m[2] >= 0 {
			qual = masked[where[0]+m[2] : where[0]+m[3]]
		}
		var table string
		switch {
		case qual != "":
			table = aliases[qual]
		case len(named) == 1:
			for t := range named {
				table = t
			}
		}
		if table != TableInvocation && table != TableInvocationStatus && table != TableJournal && table != TableJournalEvents {
			continue
		}
		if mentions[table] != 1 {
			continue // a table read twice (a self-join): the condition holds for one of them
		}
		if seen[table] { // two conditions on one table: read it whole
			delete(out, table)
			continue
		}
		seen[table] = true
		lo, hi := m[4], m[5] // id = '…'
		if lo < 0 {
			lo, hi = m[6], m[7] // id IN ('…', …)
		}
		list := q[where[0]+lo : where[0]+hi] // the literals, from q (masked has them blank)
		var only []ids.InvocationID
		for _, lit := range literalRE.FindAllStringSubmatch(list, -1) {
			id, err := ids.ParseInvocationID(lit[1])
			if err != nil { // not an invocation id: no row has it, but let the engine say so
				only = nil
				break
			}
			only = append(only, id)
		}
		if only != nil {
			out[table] = only
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

var (
	selectRE  = regexp.MustCompile(`\bselect\b`)
	commentRE = regexp.MustCompile(`(?s)--[^\n]*|/\*.*?\*/`)
	// Words after which a condition on id no longer restricts every row the query returns.
	unsafeRE     = regexp.MustCompile(`\b(or|not|case|between|union|intersect|except|with|exists|any|all|some)\b`)
	isNotRE      = regexp.MustCompile(`\bis\s+not\b`) // IS NOT NULL negates nothing else
	whereRE      = regexp.MustCompile(`\bwhere\b`)
	afterWhereRE = regexp.MustCompile(`\b(group|order|having|limit|offset|window|qualify)\b`)
	tableRefRE   = regexp.MustCompile(`\b(?:from|join)\s+(\w+)(?:\s+(?:as\s+)?(\w+))?`)
	// A condition joined by AND (or the first after WHERE): [qualifier.]id = '…' or id IN ('…', …).
	idCondRE  = regexp.MustCompile(`\b(?:where|and)\s+(?:(\w+)\.)?id\s*(?:=\s*('[^']*')|in\s*\(((?:\s*'[^']*'\s*,)*\s*'[^']*'\s*)\))`)
	literalRE = regexp.MustCompile(`'([^']*)'`)
	keywords  = map[string]bool{"where": true, "join": true, "left": true, "right": true, "inner": true, "outer": true,
		"full": true, "cross": true, "natural": true, "on": true, "using": true, "group": true, "order": true, "limit": true}
)
