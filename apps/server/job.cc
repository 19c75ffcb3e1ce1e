#include "apps/server/job.h"

namespace dsv4::server {

void Job::admit(const Admission& admission) {
  {
    std::lock_guard lock(mutex_);
    admission_ = admission;
  }
  changed_.notify_all();
}

void Job::publish(const render::StreamEvent& event) {
  {
    std::lock_guard lock(mutex_);
    events_.push_back(event);
  }
  changed_.notify_all();
}

void Job::finish(JobOutcome outcome) {
  {
    std::lock_guard lock(mutex_);
    outcome_ = std::move(outcome);
    done_ = true;
  }
  changed_.notify_all();
}

void Job::fail(const ApiError& error) {
  {
    std::lock_guard lock(mutex_);
    error_ = error;
    done_ = true;
  }
  changed_.notify_all();
}

Admission Job::wait_admission() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return admission_.has_value() || done_; });
  if (admission_) return *admission_;
  throw *error_;
}

Job::Update Job::wait_update(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return !events_.empty() || done_; });
  Update update;
  update.events.swap(events_);
  update.done = done_;
  return update;
}

}  // namespace dsv4::server
