module github.com/nixgen/nixgen

go 1.26.8
