vcl 4.1;
# Varnish for make bench-compare: the same job as edge's routes. Generated;
# edit bench/compare/run/templates/varnish.vcl.

backend origin {
    .host = "{{.OriginHost}}";
    .port = "{{.OriginPort}}";
    .connect_timeout = 1s;
    .first_byte_timeout = 3s;
    .between_bytes_timeout = 3s;
}

sub vcl_recv {
    # Shared pages: the shopper's cookies never reach the origin nor split
    # the cache (edge: strip_cookies, its default).
    unset req.http.Cookie;
}

sub vcl_backend_response {
    # Never store a shopper's cookie.
    unset beresp.http.Set-Cookie;
    if (bereq.url ~ "^/esi/") {
        set beresp.do_esi = true;
    }
    # Serve stale while one fetch refreshes an expired object.
    set beresp.grace = 10s;
    # Falls through to the built-in VCL: Cache-Control no-store (the
    # uncached fragments) makes a hit-for-miss object.
}
