package e2e

import "time"

// patience is how long a test waits for something that must happen (a
// plugin relaunched, a port freed, a line logged, the clock going stale)
// before it fails. It only turns a hang into a failure: what the tests wait
// for normally takes well under a second, and a busy machine may make it
// take many times longer without anything being wrong. How long these
// things take is measured by `make bench` (scripts/bench.sh), never
// asserted by a test.
const patience = 60 * time.Second
