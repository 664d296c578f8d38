package main

import (
	"time"

	"github.com/aunsorm/aunsorm/sdk/plugin"
)

// Bounds of the job settings.
const (
	defaultJobInterval = 10 * time.Second
	minJobInterval     = 100 * time.Millisecond
	maxJobInterval     = 24 * time.Hour
)

// config is the plugin's `config { ... }` block:
//
//	config {
//	  job_interval = "10s" # one run per period, across every daemon
//	  lease_ttl    = "30s" # how long a silent holder keeps the job
//	}
type config struct {
	JobInterval string `hcl:"job_interval,optional"`
	LeaseTTL    string `hcl:"lease_ttl,optional"`

	interval, ttl time.Duration
}

// loadConfig decodes and checks the block.
func loadConfig(c *plugin.Config) (config, error) {
	var cfg config
	if err := c.Decode(&cfg); err != nil {
		return config{}, err
	}
	cfg.interval = defaultJobInterval
	if cfg.JobInterval != "" {
		d, err := time.ParseDuration(cfg.JobInterval)
		if err != nil || d < minJobInterval || d > maxJobInterval {
			return config{}, c.Errorf("job_interval", "must be a duration between %s and %s", minJobInterval, maxJobInterval)
		}
		cfg.interval = d
	}
	cfg.ttl = 3 * cfg.interval
	if cfg.LeaseTTL != "" {
		d, err := time.ParseDuration(cfg.LeaseTTL)
		if err != nil || d < cfg.interval || d > 10*maxJobInterval {
			return config{}, c.Errorf("lease_ttl", "must be a duration of at least job_interval (%s)", cfg.interval)
		}
		cfg.ttl = d
	}
	return cfg, nil
}
