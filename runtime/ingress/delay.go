package ingress

import (
	"fmt"
	"math"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The ?delay= of a send is read as restate-server reads it (its FriendlyDuration, on the jiff
// crate's Span parser): either ISO 8601 ("PT10S", "P1DT2H", "PT1.5S", "P1W"; P and T in either
// case, a fraction on the last time unit) or jiff's "friendly" format ("10s", "1h 30m",
// "1h30m", "2 days", "1.5h", "1 day, 2 hours", "500 milliseconds", "01:02:03", "+10s"), days
// being 24 hours. Years and months are refused, as negative delays ("-1s", "1h ago") are; "0"
// is a delay of zero. A bad delay is answered 400 "bad delay query parameter, must be a ISO8601
// duration: " and jiff's message.
//
// One limit of ours: a delay beyond Go's time.Duration (about 292 years) is refused, where
// restate-server takes delays up to jiff's span limits (about 20,000 years).

const msgBadDelay = "bad delay query parameter, must be a ISO8601 duration: "

// parseDelayQuery reads the first delay query parameter (its name in any case), as restate-server
// does; delayed says whether there is one. Only sends may have one, which the caller checks
// after the headers, as restate-server does.
func parseDelayQuery(rawQuery string) (d time.Duration, delayed bool, herr *httpError) {
	v, ok := formValue(rawQuery, "delay")
	if !ok {
		return 0, false, nil
	}
	d, msg := parseDelay(v)
	if msg != "" {
		return 0, true, ingressError(http.StatusBadRequest, msgBadDelay+msg)
	}
	return d, true, nil
}

// formValue is the value of the first parameter named name (ASCII case-insensitively) in an
// application/x-www-form-urlencoded query, decoded as Rust's url::form_urlencoded does: '+' is a
// space, a malformed %-escape stays as it is, bytes that are not UTF-8 become U+FFFD.
func formValue(rawQuery, name string) (string, bool) {
	for _, pair := range strings.Split(rawQuery, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if strings.EqualFold(formDecode(k), name) {
			return formDecode(v), true
		}
	}
	return "", false
}

func formDecode(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	if !strings.Contains(s, "%") {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(n))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// spanUnit is one of jiff's span units, smallest first.
type spanUnit int

const (
	unitNanosecond spanUnit = iota
	unitMicrosecond
	unitMillisecond
	unitSecond
	unitMinute
	unitHour
	unitDay
	unitWeek
	unitMonth
	unitYear
	numUnits
)

var unitNames = [numUnits]string{"nanosecond", "microsecond", "millisecond", "second", "minute", "hour", "day", "week", "month", "year"}

// unitLimits are the largest magnitudes a span holds of each unit.
var unitLimits = [numUnits]uint64{math.MaxInt64, 631107417600000000, 631107417600000, 631107417600, 10518456960, 175307616, 7304484, 1043497, 239976, 19998}

// unitNanos is each unit's length in nanoseconds, days being 24 hours (years and months have
// none: a delay refuses them).
var unitNanos = [numUnits]int64{1, 1e3, 1e6, 1e9, 60e9, 3600e9, 86400e9, 7 * 86400e9, 0, 0}

func (u spanUnit) singular() string { return unitNames[u] }
func (u spanUnit) plural() string   { return unitNames[u] + "s" }

// friendlyLabels are the unit designators of the friendly format, each tried in this order
// (longer ones first) as a prefix of what follows the number.
var friendlyLabels = []struct {
	label string
	unit  spanUnit
}{
	{"milliseconds", unitMillisecond}, {"microseconds", unitMicrosecond}, {"nanoseconds", unitNanosecond},
	{"millisecond", unitMillisecond}, {"microsecond", unitMicrosecond}, {"nanosecond", unitNanosecond},
	{"seconds", unitSecond}, {"minutes", unitMinute}, {"\u00b5secs", unitMicrosecond},
	{"second", unitSecond}, {"months", unitMonth}, {"minute", unitMinute}, {"millis", unitMillisecond},
	{"micros", unitMicrosecond}, {"\u00b5sec", unitMicrosecond}, {"years", unitYear}, {"weeks", unitWeek},
	{"usecs", unitMicrosecond}, {"nsecs", unitNanosecond}, {"nanos", unitNanosecond}, {"msecs", unitMillisecond},
	{"month", unitMonth}, {"milli", unitMillisecond}, {"micro", unitMicrosecond}, {"hours", unitHour},
	{"year", unitYear}, {"week", unitWeek}, {"usec", unitMicrosecond}, {"secs", unitSecond},
	{"nsec", unitNanosecond}, {"nano", unitNanosecond}, {"msec", unitMillisecond}, {"mins", unitMinute},
	{"hour", unitHour}, {"days", unitDay}, {"\u00b5s", unitMicrosecond}, {"yrs", unitYear}, {"wks", unitWeek},
	{"sec", unitSecond}, {"mos", unitMonth}, {"min", unitMinute}, {"hrs", unitHour}, {"day", unitDay},
	{"yr", unitYear}, {"wk", unitWeek}, {"us", unitMicrosecond}, {"ns", unitNanosecond}, {"ms", unitMillisecond},
	{"mo", unitMonth}, {"hr", unitHour}, {"y", unitYear}, {"w", unitWeek}, {"s", unitSecond}, {"m", unitMinute},
	{"h", unitHour}, {"d", unitDay},
}

// spanBuilder collects a span's unit values as jiff's parsers do: units from largest to smallest,
// each once, a fraction only on the last one.
type spanBuilder struct {
	values      [numUnits]uint64
	fraction    uint32 // nanoseconds of the smallest unit's fraction, if hasFraction
	hasFraction bool
	negative    bool
	min, max    spanUnit
	any         bool
}

func (b *spanBuilder) set(u spanUnit, v uint64) string {
	if b.any && b.min <= u {
		return fmt.Sprintf("found value with unit %s after unit %s, but units must be written from largest to smallest (and they can't be repeated)", u.singular(), b.min.singular())
	}
	if !b.any {
		b.max = u
	}
	b.min, b.any = u, true
	b.values[u] = v
	return ""
}

func (b *spanBuilder) setFraction(f uint32) string {
	if b.any && (b.min > unitHour || b.min == unitNanosecond) {
		return "fractional " + b.min.plural() + " are not supported"
	}
	b.fraction, b.hasFraction = f, true
	return ""
}

// check is jiff's conversion of the parsed units to a span: each value within its unit's limit.
func (b *spanBuilder) check() string {
	if !b.any {
		return "no parsed duration components"
	}
	for u := unitYear; u >= unitNanosecond; u-- {
		v := b.values[u]
		if v == 0 {
			continue
		}
		if v > math.MaxInt64 && !(b.negative && v == 1<<63) {
			return fmt.Sprintf("value for %s is too big (or small) to fit into a signed 64-bit integer", u.plural())
		}
		// Time units over their limit spill into smaller ones (checked as a whole, below).
		if u >= unitDay && v > unitLimits[u] {
			return fmt.Sprintf("failed to set value for %s unit on span: parameter '%s' is not in the required range of -%d..=%d", u.singular(), u.plural(), unitLimits[u], unitLimits[u])
		}
	}
	return ""
}

// iso prints the span as jiff prints it (ISO 8601): "PT10S", "P1DT2H", "-PT0.5S", "PT0S".
func (b *spanBuilder) iso() string {
	var sb strings.Builder
	if b.negative && !b.zero() {
		sb.WriteByte('-')
	}
	sb.WriteByte('P')
	for _, d := range []struct {
		u spanUnit
		c string
	}{{unitYear, "Y"}, {unitMonth, "M"}, {unitWeek, "W"}, {unitDay, "D"}} {
		if b.values[d.u] != 0 {
			sb.WriteString(strconv.FormatUint(b.values[d.u], 10) + d.c)
		}
	}
	// A fraction spreads over the smaller units (1.5h is 1H30M).
	frac := b.fractionNanos()
	minutes := new(big.Int).SetUint64(b.values[unitMinute])
	if b.hasFraction && b.min == unitHour {
		extra := new(big.Int)
		extra.QuoRem(frac, big.NewInt(60e9), frac)
		minutes.Add(minutes, extra)
	}
	sub := new(big.Int).SetUint64(b.values[unitMillisecond])
	sub.Mul(sub, big.NewInt(1e6))
	sub.Add(sub, new(big.Int).Mul(new(big.Int).SetUint64(b.values[unitMicrosecond]), big.NewInt(1e3)))
	sub.Add(sub, new(big.Int).SetUint64(b.values[unitNanosecond]))
	sub.Add(sub, frac)
	secs, nanos := new(big.Int).QuoRem(sub, big.NewInt(1e9), new(big.Int))
	secs.Add(secs, new(big.Int).SetUint64(b.values[unitSecond]))
	hasTime := b.values[unitHour] != 0 || minutes.Sign() != 0 || secs.Sign() != 0 || nanos.Sign() != 0
	if hasTime || sb.Len() <= 2 && b.values[unitYear]+b.values[unitMonth]+b.values[unitWeek]+b.values[unitDay] == 0 {
		sb.WriteByte('T')
		if b.values[unitHour] != 0 {
			sb.WriteString(strconv.FormatUint(b.values[unitHour], 10) + "H")
		}
		if minutes.Sign() != 0 {
			sb.WriteString(minutes.String() + "M")
		}
		if secs.Sign() != 0 || nanos.Sign() != 0 || !hasTime {
			sb.WriteString(secs.String())
			if nanos.Sign() != 0 {
				sb.WriteString("." + strings.TrimRight(fmt.Sprintf("%09d", nanos.Int64()), "0"))
			}
			sb.WriteByte('S')
		}
	}
	return sb.String()
}

func (b *spanBuilder) zero() bool {
	for _, v := range b.values {
		if v != 0 {
			return false
		}
	}
	return !b.hasFraction || b.fraction == 0
}

// fractionNanos is the fraction of the smallest unit, in nanoseconds.
func (b *spanBuilder) fractionNanos() *big.Int {
	if !b.hasFraction {
		return new(big.Int)
	}
	f := new(big.Int).Mul(big.NewInt(int64(b.fraction)), big.NewInt(unitNanos[b.min]))
	return f.Quo(f, big.NewInt(1e9))
}

// duration is the span as a delay: years and months refused, days of 24 hours, not negative.
func (b *spanBuilder) duration() (time.Duration, string) {
	if b.values[unitYear] != 0 || b.values[unitMonth] != 0 {
		if !b.negative {
			return 0, "please use units of days or smaller"
		}
		u := unitYear
		if b.values[unitYear] == 0 {
			u = unitMonth
		}
		return 0, fmt.Sprintf("could not compute normalized relative span when all days are assumed to be 24 hours: using unit '%s' in span or configuration requires that a relative reference time be given (`jiff::SpanRelativeTo::days_are_24_hours()` was given but this only permits using days and weeks without a relative reference time)", u.singular())
	}
	total := b.fractionNanos()
	for u := unitNanosecond; u <= unitWeek; u++ {
		total.Add(total, new(big.Int).Mul(new(big.Int).SetUint64(b.values[u]), big.NewInt(unitNanos[u])))
	}
	if b.negative && total.Sign() != 0 {
		return 0, "negative signed durations cannot be converted to an unsigned duration"
	}
	if !total.IsInt64() {
		return 0, "delay too long: at most " + time.Duration(math.MaxInt64).String()
	}
	return time.Duration(total.Int64()), ""
}

// parseDelay parses a delay as restate-server does; on failure it returns jiff's message.
func parseDelay(s string) (time.Duration, string) {
	if s == "0" {
		return 0, ""
	}
	if s == "" {
		return 0, "an empty string is not a valid duration in either the ISO 8601 format or Jiff's \"friendly\" format"
	}
	first := s[0]
	if first == '+' || first == '-' {
		if len(s) == 1 {
			return 0, "found nothing after sign `" + string(first) + "`, which is not a valid duration in either the ISO 8601 format or Jiff's \"friendly\" format"
		}
		first = s[1]
	}
	var b spanBuilder
	if first == 'P' || first == 'p' {
		if msg := parseISODuration(s, &b); msg != "" {
			return 0, msg
		}
	} else if msg := parseFriendlyDuration(s, &b); msg != "" {
		return 0, "failed to parse input in the \"friendly\" duration format: " + msg
	}
	return b.duration()
}

// digitsPrefix reads the decimal integer s starts with (found=false if none).
func digitsPrefix(s string) (v uint64, rest string, found bool, msg string) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		d := uint64(s[i] - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, s, false, "number too big to parse into 64-bit integer"
		}
		v = v*10 + d
		i++
	}
	return v, s[i:], i > 0, ""
}

// fractionPrefix reads a fraction (. or , and 1 to 9 digits) if s starts with one.
func fractionPrefix(s string) (f uint32, rest string, found bool, msg string) {
	if s == "" || (s[0] != '.' && s[0] != ',') {
		return 0, s, false, ""
	}
	s = s[1:]
	i := 0
	for i < len(s) && i < 9 && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, s, false, "found decimal after seconds component, but did not find any digits after decimal"
	}
	n, _ := strconv.ParseUint(s[:i]+strings.Repeat("0", 9-i), 10, 32)
	return uint32(n), s[i:], true, ""
}

// parseISODuration parses an ISO 8601 duration as jiff's temporal span parser does.
func parseISODuration(s string, b *spanBuilder) string {
	if s[0] == '+' || s[0] == '-' {
		b.negative = s[0] == '-'
		s = s[1:]
	}
	s = s[1:] // P or p, checked by the caller
	for {
		v, rest, found, msg := digitsPrefix(s)
		if msg != "" {
			return msg
		}
		if !found {
			break
		}
		if rest == "" {
			return "expected to find date unit designator suffix (`Y`, `M`, `W` or `D`), but found end of input"
		}
		var u spanUnit
		switch rest[0] {
		case 'Y', 'y':
			u = unitYear
		case 'M', 'm':
			u = unitMonth
		case 'W', 'w':
			u = unitWeek
		case 'D', 'd':
			u = unitDay
		default:
			return "expected to find date unit designator suffix (`Y`, `M`, `W` or `D`), but found `" + escapeByte(rest[0]) + "` instead"
		}
		if msg := b.set(u, v); msg != "" {
			return msg
		}
		s = rest[1:]
	}
	if s != "" && (s[0] == 'T' || s[0] == 't') {
		s = s[1:]
		for {
			v, rest, found, msg := digitsPrefix(s)
			if msg != "" {
				return msg
			}
			if !found {
				break
			}
			f, rest, hasFraction, msg := fractionPrefix(rest)
			if msg != "" {
				return msg
			}
			if rest == "" {
				return "expected to find time unit designator suffix (`H`, `M` or `S`), but found end of input"
			}
			var u spanUnit
			switch rest[0] {
			case 'H', 'h':
				u = unitHour
			case 'M', 'm':
				u = unitMinute
			case 'S', 's':
				u = unitSecond
			default:
				return "expected to find time unit designator suffix (`H`, `M` or `S`), but found `" + escapeByte(rest[0]) + "` instead"
			}
			if msg := b.set(u, v); msg != "" {
				return msg
			}
			s = rest[1:]
			if hasFraction {
				if msg := b.setFraction(f); msg != "" {
					return msg
				}
				break
			}
		}
		if !b.any || b.min > unitHour {
			return "found a time designator (`T` or `t`) in an ISO 8601 duration string, but did not find any time units"
		}
	}
	if msg := b.check(); msg != "" {
		return msg
	}
	if s != "" {
		return intoFullError(b, s)
	}
	return ""
}

// parseFriendlyDuration parses jiff's friendly format as its span parser does.
func parseFriendlyDuration(s string, b *spanBuilder) string {
	var sign byte
	if s[0] == '+' || s[0] == '-' {
		sign, s = s[0], s[1:]
	}
	v, s, found, msg := digitsPrefix(s)
	if msg != "" {
		return msg
	}
	if !found {
		return "expected duration to start with a unit value (a decimal integer) after an optional sign, but no integer was found"
	}
	afterComma := true
	for {
		if s != "" && s[0] == ':' {
			rest, msg := parseHMS(s[1:], v, b)
			if msg != "" {
				return msg
			}
			s = rest
			break
		}
		f, rest, hasFraction, msg := fractionPrefix(s)
		if msg != "" {
			return msg
		}
		rest = trimSpaceLeft(rest)
		unit, n := friendlyLabel(rest)
		if n == 0 {
			return "expected to find unit designator suffix (e.g., `years` or `secs`) after parsing integer"
		}
		rest = rest[n:]
		if rest != "" && rest[0] == ',' {
			if len(rest) == 1 {
				return "expected whitespace after comma, but found end of input"
			}
			if !isSpace(rest[1]) {
				return "expected whitespace after comma, but found `" + escapeByte(rest[1]) + "`"
			}
			rest = rest[2:]
			afterComma = false
		}
		if msg := b.set(unit, v); msg != "" {
			return msg
		}
		s = rest
		if hasFraction {
			if msg := b.setFraction(f); msg != "" {
				return msg
			}
			break
		}
		next, after, found, msg := digitsPrefix(trimSpaceLeft(s))
		if msg != "" {
			return msg
		}
		if !found {
			break
		}
		v, s, afterComma = next, after, true
	}
	if !afterComma {
		return "found comma at the end of duration, but a comma indicates at least one more unit follows"
	}
	b.negative = sign == '-'
	if s != "" && isSpace(s[0]) {
		s = trimSpaceLeft(s[1:])
		if strings.HasPrefix(s, "ago") {
			if sign != 0 {
				return "expected to find either a prefix sign (+/-) or a suffix sign (`ago`), but found both"
			}
			b.negative, s = true, s[3:]
		}
	}
	if msg := b.check(); msg != "" {
		return msg
	}
	if s != "" {
		return intoFullError(b, s)
	}
	return ""
}

// parseHMS reads the rest of an HH:MM:SS[.fff] duration after its hours and first colon.
func parseHMS(s string, hours uint64, b *spanBuilder) (string, string) {
	minutes, s, found, msg := digitsPrefix(s)
	if msg != "" {
		return "", msg
	}
	if !found {
		return "", "when parsing the `HH:MM:SS` format, expected to parse minute following hour"
	}
	if s == "" || s[0] != ':' {
		return "", "when parsing the `HH:MM:SS` format, expected to parse `:` following minute"
	}
	seconds, s, found, msg := digitsPrefix(s[1:])
	if msg != "" {
		return "", msg
	}
	if !found {
		return "", "when parsing the `HH:MM:SS` format, expected to parse second following minute"
	}
	f, s, hasFraction, msg := fractionPrefix(s)
	if msg != "" {
		return "", msg
	}
	if b.any && b.min <= unitHour {
		return "", fmt.Sprintf("found `HH:MM:SS` after unit %s, but `HH:MM:SS` can only appear after years, months, weeks or days", b.min.singular())
	}
	for _, uv := range []struct {
		u spanUnit
		v uint64
	}{{unitHour, hours}, {unitMinute, minutes}, {unitSecond, seconds}} {
		if msg := b.set(uv.u, uv.v); msg != "" {
			return "", msg
		}
	}
	if hasFraction {
		if msg := b.setFraction(f); msg != "" {
			return "", msg
		}
	}
	return s, ""
}

func friendlyLabel(s string) (spanUnit, int) {
	for _, l := range friendlyLabels {
		if strings.HasPrefix(s, l.label) {
			return l.unit, len(l.label)
		}
	}
	return 0, 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func trimSpaceLeft(s string) string {
	for s != "" && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}

// intoFullError words input left after a whole duration, as jiff does.
func intoFullError(b *spanBuilder, rest string) string {
	return "parsed value '" + b.iso() + "', but unparsed input \"" + escapeBytes(rest) + "\" remains (expected no unparsed input)"
}

// escapeByte writes a byte as jiff's messages do (Rust's ascii::escape_default, hex in upper
// case, a space as it is).
func escapeByte(c byte) string {
	switch {
	case c == ' ':
		return " "
	case c == '\t':
		return `\t`
	case c == '\n':
		return `\n`
	case c == '\r':
		return `\r`
	case c == '\'' || c == '"' || c == '\\':
		return `\` + string(c)
	case c >= 0x20 && c < 0x7f:
		return string(c)
	}
	return fmt.Sprintf(`\x%02X`, c)
}

// escapeBytes writes bytes as jiff's messages do: ASCII escaped as Rust's escape_ascii, other
// characters as Rust's escape_debug, bytes that are not UTF-8 as \xNN.
func escapeBytes(s string) string {
	var sb strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&sb, `\x%02x`, s[0])
		case r == 0:
			sb.WriteString(`\0`)
		case r < 0x80:
			switch c := byte(r); {
			case c == '\t':
				sb.WriteString(`\t`)
			case c == '\n':
				sb.WriteString(`\n`)
			case c == '\r':
				sb.WriteString(`\r`)
			case c == '\'' || c == '"' || c == '\\':
				sb.WriteString(`\` + string(c))
			case c >= 0x20 && c < 0x7f:
				sb.WriteByte(c)
			default:
				fmt.Fprintf(&sb, `\x%02x`, c)
			}
		case strconv.IsPrint(r):
			sb.WriteRune(r)
		default:
			fmt.Fprintf(&sb, `\u{%x}`, r)
		}
		s = s[n:]
	}
	return sb.String()
}
