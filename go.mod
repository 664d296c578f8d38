module github.com/aunsorm/aunsorm

go 1.26.8

require github.com/aunsorm/aunsorm/sdk v0.0.0

replace github.com/aunsorm/aunsorm/sdk => ./sdk
