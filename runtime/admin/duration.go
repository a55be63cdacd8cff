package admin

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// friendlyUnits are the unit names of jiff's "friendly" duration format that fit a duration of
// fixed length (restate-server parses its durations with jiff; years and months are not fixed).
var friendlyUnits = map[string]time.Duration{
	"w": 7 * 24 * time.Hour, "wk": 7 * 24 * time.Hour, "wks": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"ms": time.Millisecond, "msec": time.Millisecond, "msecs": time.Millisecond, "millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"us": time.Microsecond, "µs": time.Microsecond, "usec": time.Microsecond, "usecs": time.Microsecond, "microsecond": time.Microsecond, "microseconds": time.Microsecond,
	"ns": time.Nanosecond, "nsec": time.Nanosecond, "nsecs": time.Nanosecond, "nanosecond": time.Nanosecond, "nanoseconds": time.Nanosecond,
}

// isoUnits are the designators of an ISO 8601 duration, date part then time part.
var isoUnits = [2]map[byte]time.Duration{
	{'W': 7 * 24 * time.Hour, 'D': 24 * time.Hour},
	{'H': time.Hour, 'M': time.Minute, 'S': time.Second},
}

var errDurationEmpty = errors.New("an empty string is not a valid duration")

// parseDuration reads a duration as restate-server's admin API accepts it: jiff's "friendly"
// format ("5 hours", "1h 30m", "90s", "1.5h", "500ms") or ISO 8601 ("PT5M", "P1DT2H"). A
// negative duration is refused.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errDurationEmpty
	}
	var d time.Duration
	var err error
	if s[0] == 'P' || s[0] == 'p' {
		d, err = parseISODuration(strings.ToUpper(s[1:]))
	} else {
		d, err = parseFriendlyDuration(s)
	}
	if err == nil && d < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return d, err
}

// number reads a decimal number with an optional fraction at the start of s.
func number(s string) (float64, string, bool) {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == ',' && i > 0 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9') {
		i++
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(s[:i], ",", "."), 64)
	if i == 0 || err != nil {
		return 0, s, false
	}
	return v, s[i:], true
}

func addUnits(d time.Duration, v float64, unit time.Duration) (time.Duration, error) {
	f := v * float64(unit)
	if f > math.MaxInt64 || float64(d)+f > math.MaxInt64 {
		return 0, errors.New("duration too large")
	}
	return d + time.Duration(f), nil
}

func parseFriendlyDuration(s string) (time.Duration, error) {
	sign := time.Duration(1)
	switch s[0] {
	case '-':
		sign, s = -1, s[1:]
	case '+':
		s = s[1:]
	}
	var d time.Duration
	units := 0
	for s = strings.TrimLeft(s, " "); s != ""; s = strings.TrimLeft(s, " ,") {
		v, rest, ok := number(s)
		if !ok {
			return 0, errors.New("expected duration to start with a unit value (a decimal integer) after an optional sign, but no integer was found")
		}
		rest = strings.TrimLeft(rest, " ")
		j := 0
		for j < len(rest) && rest[j] != ' ' && rest[j] != ',' && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		unit, ok := friendlyUnits[strings.ToLower(rest[:j])]
		if !ok {
			return 0, fmt.Errorf("unrecognized duration unit %q", rest[:j])
		}
		var err error
		if d, err = addUnits(d, v, unit); err != nil {
			return 0, err
		}
		s, units = rest[j:], units+1
	}
	if units == 0 {
		return 0, errors.New("expected at least one unit value")
	}
	return sign * d, nil
}

func parseISODuration(s string) (time.Duration, error) {
	var d time.Duration
	part, units := 0, 0
	for s != "" {
		if s[0] == 'T' {
			if part == 1 {
				return 0, errors.New("a second 'T' in an ISO 8601 duration")
			}
			part, s = 1, s[1:]
			continue
		}
		v, rest, ok := number(s)
		if !ok || rest == "" {
			return 0, errors.New("expected a number followed by a designator in an ISO 8601 duration")
		}
		unit, ok := isoUnits[part][rest[0]]
		if !ok {
			return 0, fmt.Errorf("unsupported designator %q in an ISO 8601 duration", rest[0])
		}
		var err error
		if d, err = addUnits(d, v, unit); err != nil {
			return 0, err
		}
		s, units = rest[1:], units+1
	}
	if units == 0 {
		return 0, errors.New("an ISO 8601 duration needs at least one unit")
	}
	return d, nil
}
