package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aunsorm/aunsorm/daemon/internal/admin"
)

// auditPollInterval is how often `audit tail -f` asks for new records.
const auditPollInterval = 500 * time.Millisecond

// auditFlags are the filters of `audit list` and `audit tail`.
type auditFlags struct {
	adminFlags
	source, action, since, until string
	json                         bool
}

func (a *auditFlags) register(fs *flag.FlagSet) {
	a.adminFlags.register(fs)
	fs.StringVar(&a.source, "source", "", "only records of this source: a plugin name, or daemon")
	fs.StringVar(&a.action, "action", "", "only records of this action (event name), e.g. plugin.swap; a trailing .* selects a family (plugin.*)")
	fs.StringVar(&a.since, "since", "", "only records at or after this time: RFC 3339 (2026-01-02T15:04:05Z) or a duration back from now (90m)")
	fs.StringVar(&a.until, "until", "", "only records before this time (same forms as -since)")
	fs.BoolVar(&a.json, "json", false, "print one JSON object per record")
}

// query returns the API query for a page after seq.
func (a *auditFlags) query(after uint64, limit int) string {
	q := url.Values{}
	q.Set("after", strconv.FormatUint(after, 10))
	q.Set("limit", strconv.Itoa(limit))
	for k, v := range map[string]string{"source": a.source, "action": a.action, "since": a.since, "until": a.until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return "/v1/audit?" + q.Encode()
}

// auditPage fetches one page; a 4xx names what was wrong with the filter.
func auditPage(ctx context.Context, c *http.Client, path string) (admin.AuditPage, error) {
	var resp struct {
		admin.AuditPage
		Code  string `json:"error"`
		Error string `json:"error_description"`
	}
	status, err := adminCall(ctx, c, http.MethodGet, path, &resp)
	if err != nil {
		return admin.AuditPage{}, err
	}
	if status != http.StatusOK {
		return admin.AuditPage{}, fmt.Errorf("the admin API refused the query (%d %s): %s", status, resp.Code, resp.Error)
	}
	return resp.AuditPage, nil
}

// recordPrinter writes records as a table (flushed per batch) or JSON lines.
type recordPrinter struct {
	w      io.Writer
	json   bool
	header bool
}

func (p *recordPrinter) print(recs []admin.AuditRecord) {
	if p.json {
		enc := json.NewEncoder(p.w)
		for _, r := range recs {
			_ = enc.Encode(r)
		}
		return
	}
	if len(recs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	if !p.header {
		fmt.Fprintln(tw, "SEQ\tTIME\tSOURCE\tACTION\tSUBJECT\tOUTCOME\tDETAILS")
		p.header = true
	}
	for _, r := range recs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.Time.UTC().Format("2006-01-02T15:04:05.000Z"),
			r.Source, r.Action, dash(r.Subject), dash(r.Outcome), dash(string(r.Details)))
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// chainWarning reports a broken chain on stderr; the records are still
// printed, since they are what an operator investigates.
func chainWarning(stderr io.Writer, page admin.AuditPage) {
	if !page.ChainOK {
		fmt.Fprintf(stderr, "aunsormd: warning: the audit chain does not verify after record %d: %s (run `aunsormd audit verify`)\n", page.Verified, page.Error)
	}
}

// runAudit handles `aunsormd audit list|tail|verify`.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet("audit "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var af auditFlags
	var follow bool
	var n int
	switch cmd {
	case "list":
		af.register(fs)
		fs.IntVar(&n, "n", 0, "print at most this many records (0: all)")
	case "tail":
		af.register(fs)
		fs.IntVar(&n, "n", 10, "print the last n matching records first")
		fs.BoolVar(&follow, "f", false, "keep printing new records as they are appended, until interrupted")
	case "verify":
		af.adminFlags.register(fs)
	default:
		fmt.Fprintf(stderr, "aunsormd: unknown audit command %q\n%s", cmd, usage)
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() != 0 || n < 0 {
		fmt.Fprintf(stderr, "usage: aunsormd audit %s [flags]; see aunsormd audit %s -h\n", cmd, cmd)
		return 2
	}
	c, err := af.client(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "aunsormd:", err)
		return 1
	}
	switch cmd {
	case "verify":
		return auditVerify(ctx, c, stdout, stderr)
	case "list":
		return auditList(ctx, c, &af, n, stdout, stderr)
	default:
		return auditTail(ctx, c, &af, n, follow, stdout, stderr)
	}
}

func auditVerify(ctx context.Context, c *http.Client, stdout, stderr io.Writer) int {
	var v admin.AuditVerification
	status, err := adminCall(ctx, c, http.MethodGet, "/v1/audit/verify", &v)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("the admin API answered %d", status)
	}
	if err != nil {
		fmt.Fprintln(stderr, "aunsormd:", err)
		return 1
	}
	if v.ChainOK {
		fmt.Fprintf(stdout, "audit chain verifies: %d records\n", v.Verified)
		return 0
	}
	fmt.Fprintf(stdout, "audit chain broken at record %d: %s\n", v.FirstBad, strings.TrimPrefix(v.Error, "audit: "))
	fmt.Fprintf(stdout, "records 1 to %d verify; record %d is the first that is missing, altered or does not link to the one before\n", v.Verified, v.FirstBad)
	return 1
}

// auditList prints every matching record (at most n when n > 0), oldest
// first, page by page.
func auditList(ctx context.Context, c *http.Client, af *auditFlags, n int, stdout, stderr io.Writer) int {
	p := &recordPrinter{w: stdout, json: af.json}
	var after uint64
	printed, warned := 0, false
	for {
		limit := 1000
		if n > 0 {
			limit = min(limit, n-printed)
		}
		page, err := auditPage(ctx, c, af.query(after, limit))
		if err != nil {
			fmt.Fprintln(stderr, "aunsormd:", err)
			return 1
		}
		p.print(page.Records)
		printed += len(page.Records)
		if !page.ChainOK && !warned {
			chainWarning(stderr, page)
			warned = true
		}
		if page.NextAfter <= after || (n > 0 && printed >= n) {
			if printed == 0 && !af.json {
				fmt.Fprintln(stderr, "aunsormd: no matching audit records")
			}
			return 0
		}
		after = page.NextAfter
	}
}

// auditTail prints the last n matching records and, with follow, new ones
// as they come until ctx ends (Ctrl-C).
func auditTail(ctx context.Context, c *http.Client, af *auditFlags, n int, follow bool, stdout, stderr io.Writer) int {
	p := &recordPrinter{w: stdout, json: af.json}
	var (
		after uint64
		last  []admin.AuditRecord
	)
	// Page through to the end, keeping the last n.
	for {
		page, err := auditPage(ctx, c, af.query(after, 1000))
		if err != nil {
			fmt.Fprintln(stderr, "aunsormd:", err)
			return 1
		}
		last = append(last, page.Records...)
		if len(last) > n {
			last = append(last[:0:0], last[len(last)-n:]...)
		}
		if page.NextAfter <= after {
			chainWarning(stderr, page)
			break
		}
		after = page.NextAfter
	}
	p.print(last)
	if !follow {
		return 0
	}
	t := time.NewTicker(auditPollInterval)
	defer t.Stop()
	warned := false
	for {
		select {
		case <-ctx.Done():
			return 0
		case <-t.C:
		}
		page, err := auditPage(ctx, c, af.query(after, 1000))
		if err != nil {
			if ctx.Err() != nil {
				return 0
			}
			fmt.Fprintln(stderr, "aunsormd:", err)
			return 1
		}
		p.print(page.Records)
		if !page.ChainOK && !warned {
			chainWarning(stderr, page)
			warned = true
		}
		after = max(after, page.NextAfter)
	}
}
