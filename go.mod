module github.com/bounced/bounced

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/robfig/cron/v3 v3.0.1
)
