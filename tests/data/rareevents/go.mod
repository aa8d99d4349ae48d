module rareevents

go 1.23
