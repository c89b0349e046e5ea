package schema

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	// Timezone names in schedules are checked with time.LoadLocation; the
	// embedded database answers where the system has none (the Nix build
	// sandbox, minimal containers), so validation does not depend on it.
	_ "time/tzdata"
)

// calendarShorthands are systemd's named OnCalendar expressions; systemd
// matches them case-insensitively.
var calendarShorthands = map[string]bool{
	"minutely": true, "hourly": true, "daily": true, "monthly": true, "weekly": true,
	"yearly": true, "annually": true, "quarterly": true, "semiannually": true,
}

// weekdayNumbers numbers the weekday names from Monday, the order systemd's
// ranges must follow ("Sat..Sun" is valid, "Fri..Mon" is not).
var weekdayNumbers = map[string]int{
	"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
	"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
}

// maxEpoch is 2199-12-31 23:59:59 UTC: systemd's calendar years end at 2199.
const maxEpoch = 7258118399

// calendarError returns why s is not a systemd OnCalendar expression, or "".
// It accepts the forms of systemd.time(7) that docs/spec-language.md lists —
// a case-insensitive shorthand or "@EPOCH", or "[WEEKDAYS] [DATE] [TIME]",
// each optionally followed by a timezone — and applies systemd's own range
// rules to every field, so that (within that subset) it accepts exactly
// what systemd-analyze calendar accepts. It cannot tell whether a date such
// as "02-30" ever occurs; neither does systemd.
func calendarError(s string) string {
	if strings.TrimSpace(s) == "" {
		return "the expression is empty"
	}
	if strings.TrimSpace(s) != s || strings.Contains(s, "  ") {
		return "separate its parts with single spaces, without leading or trailing spaces"
	}
	fields := strings.Split(s, " ")
	// Like systemd, take the last word as a timezone when it names one.
	if n := len(fields); n > 1 && isTimezone(fields[n-1]) {
		fields = fields[:n-1]
	}
	if len(fields) == 1 {
		if calendarShorthands[strings.ToLower(fields[0])] {
			return ""
		}
		if strings.HasPrefix(fields[0], "@") {
			return epochError(fields[0])
		}
	}
	for _, f := range fields {
		if strings.HasPrefix(f, "@") {
			return fmt.Sprintf("the timestamp %q can only stand alone or before a timezone", f)
		}
	}
	i := 0
	if c := fields[0][0]; 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
		if msg := weekdaysError(fields[0]); msg != "" {
			return msg
		}
		i++
	}
	if i < len(fields) && !strings.Contains(fields[i], ":") {
		if msg := dateError(fields[i]); msg != "" {
			return msg
		}
		i++
	}
	if i < len(fields) {
		if msg := timeError(fields[i]); msg != "" {
			return msg
		}
		i++
	}
	if i != len(fields) {
		return fmt.Sprintf("%q cannot follow the time: only a single timezone such as \"UTC\" or \"Europe/Berlin\" can, as the last part", strings.Join(fields[i:], " "))
	}
	return ""
}

// isTimezone reports whether systemd would take f as a timezone: "UTC" in
// any case, or a name from the IANA time zone database.
func isTimezone(f string) bool {
	if strings.EqualFold(f, "UTC") {
		return true
	}
	if f == "" || f == "Local" || !tzNameRe.MatchString(f) {
		return false
	}
	_, err := time.LoadLocation(f)
	return err == nil
}

var tzNameRe = regexp.MustCompile(`^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$`)

func epochError(f string) string {
	n, err := strconv.ParseInt(f[1:], 10, 64)
	if err != nil || !isDigits(f[1:]) || n > maxEpoch {
		return fmt.Sprintf("the timestamp %q must be \"@\" and seconds since 1970 up to %d (the end of 2199)", f, maxEpoch)
	}
	return ""
}

// weekdaysError checks a comma list of weekdays and ascending ranges
// ("Mon..Fri", or the older "Mon-Fri"); systemd allows a trailing comma.
func weekdaysError(f string) string {
	items := strings.Split(f, ",")
	if len(items) > 1 && items[len(items)-1] == "" {
		items = items[:len(items)-1]
	}
	for _, item := range items {
		a, b, isRange := strings.Cut(item, "..")
		if !isRange {
			a, b, isRange = strings.Cut(item, "-")
		}
		from, okA := weekdayNumbers[strings.ToLower(a)]
		to, okB := weekdayNumbers[strings.ToLower(b)]
		switch {
		case !okA && item == f:
			return fmt.Sprintf("%q is neither a shorthand such as \"daily\" nor a weekday (Mon..Sun)", a)
		case !okA:
			return fmt.Sprintf("%q is not a weekday (Mon..Sun or Monday..Sunday)", a)
		case isRange && !okB:
			return fmt.Sprintf("%q is not a weekday (Mon..Sun or Monday..Sunday)", b)
		case isRange && to < from:
			return fmt.Sprintf("the weekday range %q must run forward from Monday to Sunday", item)
		}
	}
	return ""
}

// dateError checks "[YEAR-]MONTH-DAY"; "~" in place of the last "-" counts
// the day back from the end of the month ("*-02~03": third-last day).
func dateError(f string) string {
	parts := strings.FieldsFunc(f, func(r rune) bool { return r == '-' || r == '~' })
	if len(parts) != strings.Count(f, "-")+strings.Count(f, "~")+1 || len(parts) < 2 || len(parts) > 3 {
		return fmt.Sprintf("the date %q must be YEAR-MONTH-DAY or MONTH-DAY", f)
	}
	fromEnd := strings.Contains(f, "~")
	if fromEnd && strings.Index(f, "~") < strings.LastIndexAny(f, "-~") {
		return fmt.Sprintf("in the date %q, \"~\" can only stand before the day", f)
	}
	if len(parts) == 2 {
		parts = append([]string{"*"}, parts...)
	}
	year, msg := parseChain(parts[0], "year", false)
	if msg != "" {
		return msg
	}
	for i := range year { // systemd reads 0-69 as 20xx and 70-99 as 19xx
		year[i].start = fullYear(year[i].start)
		year[i].stop = fullYear(year[i].stop)
	}
	if msg := checkChain(year, parts[0], "year", 1970, 2199, false); msg != "" {
		return msg
	}
	if msg := chainError(parts[1], "month", 1, 12, false, false); msg != "" {
		return msg
	}
	return chainError(parts[2], "day", 1, 31, fromEnd, false)
}

func fullYear(y int) int {
	switch {
	case y >= 0 && y < 70:
		return y + 2000
	case y >= 70 && y < 100:
		return y + 1900
	}
	return y
}

// timeError checks "HOUR:MINUTE[:SECOND]"; seconds may have up to six
// decimals.
func timeError(f string) string {
	parts := strings.Split(f, ":")
	if len(parts) != 2 && len(parts) != 3 {
		return fmt.Sprintf("the time %q must be HOUR:MINUTE or HOUR:MINUTE:SECOND", f)
	}
	if msg := chainError(parts[0], "hour", 0, 23, false, false); msg != "" {
		return msg
	}
	if msg := chainError(parts[1], "minute", 0, 59, false, false); msg != "" {
		return msg
	}
	if len(parts) == 3 {
		return chainError(parts[2], "second", 0, 60*usecPerSec-1, false, true)
	}
	return ""
}

const usecPerSec = 1000000

// calendarValue is one item of a calendar field: start, optional
// stop (-1: none) and optional repetition (0: none). Seconds are in µs.
type calendarValue struct{ start, stop, repeat int }

func chainError(f, what string, lo, hi int, fromEnd, usec bool) string {
	chain, msg := parseChain(f, what, usec)
	if msg != "" {
		return msg
	}
	return checkChain(chain, f, what, lo, hi, fromEnd)
}

// parseChain parses "*" or a comma list of "V", "V..W" and "V[..W]/R".
func parseChain(f, what string, usec bool) ([]calendarValue, string) {
	if f == "*" {
		return nil, ""
	}
	var chain []calendarValue
	for _, item := range strings.Split(f, ",") {
		bad := fmt.Sprintf("%q is not a valid %s: use \"*\", a number, a range \"A..B\", a repetition \"A/N\" or \"A..B/N\", or a comma list of these", item, what)
		base, rep, hasRep := strings.Cut(item, "/")
		a, b, isRange := strings.Cut(base, "..")
		v := calendarValue{stop: -1}
		var ok bool
		if v.start, ok = calendarNumber(a, usec); !ok {
			return nil, bad
		}
		if isRange {
			if v.stop, ok = calendarNumber(b, usec); !ok {
				return nil, bad
			}
			v.repeat = 1
			if usec {
				v.repeat = usecPerSec
			}
		}
		if hasRep {
			if v.repeat, ok = calendarNumber(rep, usec); !ok {
				return nil, bad
			}
			if v.repeat == 0 {
				return nil, fmt.Sprintf("the repetition in %q must be larger than zero", item)
			}
		} else if usec && isRange && v.start+v.repeat > v.stop {
			return nil, fmt.Sprintf("the range %q must span at least one second", item)
		}
		chain = append(chain, v)
	}
	return chain, ""
}

// calendarNumber parses a decimal number; for seconds (usec) it allows up to
// six decimals and returns microseconds.
func calendarNumber(s string, usec bool) (int, bool) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if !isDigits(whole) || len(whole) > 9 || hasFrac && (!usec || !isDigits(frac) || len(frac) > 6) {
		return 0, false
	}
	n, _ := strconv.Atoi(whole)
	if usec {
		f, _ := strconv.Atoi((frac + "000000")[:6])
		n = n*usecPerSec + f
	}
	return n, n <= math.MaxInt32 // systemd stores fields as C ints
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// checkChain applies systemd's rules: a range is first shortened to a
// multiple of its repetition and dropped to its start when it cannot repeat
// even once; then every start and stop lies in [lo, hi] (day counted from the
// month's end: at most 28), ranges run forward, and a repetition fits at
// least once.
func checkChain(chain []calendarValue, f, what string, lo, hi int, fromEnd bool) string {
	unit := 1
	if what == "second" {
		unit = usecPerSec
	}
	if fromEnd {
		hi -= 3
	}
	for _, v := range chain {
		if v.stop > v.start && v.repeat > 0 {
			v.stop -= (v.stop - v.start) % v.repeat
		}
		if v.stop > v.start && v.repeat > 0 && v.start+v.repeat > v.stop || v.start == v.stop {
			v.stop, v.repeat = -1, 0
		}
		outOfRange := v.start < lo || v.start > hi || v.stop >= 0 && (v.stop < lo || v.stop > hi)
		if outOfRange {
			return fmt.Sprintf("%q is outside the %s range %d..%d", f, what, lo/unit, hi/unit)
		}
		tooLong := v.repeat > hi-lo
		switch {
		case v.stop >= 0:
			tooLong = tooLong || v.start+v.repeat > v.stop
		case fromEnd:
			tooLong = tooLong || v.start-v.repeat < lo
		default:
			tooLong = tooLong || v.start+v.repeat > hi
		}
		if tooLong {
			return fmt.Sprintf("in %q, a %s range must run forward and a repetition must fit within %d..%d", f, what, lo/unit, hi/unit)
		}
	}
	return ""
}

var durationPartRe = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zµ]+)`)

var durationUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "us": time.Microsecond, "µs": time.Microsecond, "usec": time.Microsecond,
	"ms": time.Millisecond, "msec": time.Millisecond,
	"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"w": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
}

// parseDuration accepts Go durations ("1h30m") and systemd time spans
// ("1h 30min", "2d"); every part needs a unit, and the total must be positive.
func parseDuration(s string) (time.Duration, error) {
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, fmt.Errorf("the duration is empty")
	}
	var total time.Duration
	for rest != "" {
		m := durationPartRe.FindStringSubmatch(rest)
		if m == nil {
			return 0, fmt.Errorf("%q is not a duration such as \"30m\", \"1h30m\" or \"2h 15min\"", s)
		}
		unit, ok := durationUnits[m[2]]
		if !ok {
			return 0, fmt.Errorf("%q has the unknown unit %q (use s, m/min, h, d or w)", s, m[2])
		}
		n, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
		part := time.Duration(n * float64(unit))
		if n > float64(1<<62)/float64(unit) {
			return 0, fmt.Errorf("%q is too long", s)
		}
		total += part
		rest = strings.TrimSpace(rest[len(m[0]):])
	}
	if total <= 0 {
		return 0, fmt.Errorf("%q must be longer than zero", s)
	}
	return total, nil
}
