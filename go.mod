module cpupolicy

go 1.26
