module v1prog

go 1.19
