// Delivering a job's output over an open HTTP response: streamed as server-sent events, or
// held until the end for a plain JSON body. Both watch the connection while they wait, so a
// client that goes away cancels its generation.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <httplib.h>

#include "apps/server/job.h"
#include "apps/server/response_common.h"

namespace dsv4::server {

// Why a finished job has no answer to give, if it has none: it failed, or it was cancelled
// while its client was still connected (the server is stopping).
std::optional<ApiError> failure(const Job& job);

// "event: ...\ndata: ...\n\n" (no event line when the name is empty).
std::string encode_sse(const SseMessage& message);

// Streams `job` through `format` into `sink` until the job ends or the client goes away
// (which cancels the job). A ": keep-alive" comment goes out whenever nothing else was sent
// for `keepalive`, as during a long prefill, so clients and proxies keep the connection.
// Returns false when the client went away.
bool stream_job(Job& job, const Admission& admission, StreamFormat& format, httplib::DataSink& sink,
                std::chrono::milliseconds keepalive);

// Waits for the job to end, cancelling it if the client goes away first (then returns false).
bool await_job(Job& job, httplib::DataSink& sink);

}  // namespace dsv4::server
