module github.com/blockverify/blockverify/ffi/go/blockverify

go 1.19
