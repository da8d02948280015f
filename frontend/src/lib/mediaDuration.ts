// MediaRecorder writes WebM without a duration in its header, so a <video>
// reports Infinity and its seek bar does not work until the browser has
// read to the end. Seeking far past the end makes the browser find the end
// itself (with range requests, streaming, nothing held in this page's
// memory); once the duration is known the position goes back where it was.
// fix-webm-duration would need the duration as input and the whole file
// in memory, which only the recorder has.

// The longest the browser may look for the end before the position goes
// back anyway (a file cut short may never tell its duration).
const GIVE_UP_MS = 15000;

// Starts finding the duration of a video whose metadata is loaded and says
// Infinity; calls done with it once known (or NaN when the browser gave
// up). Returns a function that stops waiting.
export function revealDuration(video: HTMLVideoElement, done: (seconds: number) => void): () => void {
  const back = video.currentTime;
  const finish = () => {
    stop();
    video.currentTime = back;
    done(Number.isFinite(video.duration) ? video.duration : NaN);
  };
  const onChange = () => { if (Number.isFinite(video.duration)) finish(); };
  const timer = setTimeout(finish, GIVE_UP_MS);
  const stop = () => {
    clearTimeout(timer);
    video.removeEventListener('durationchange', onChange);
    video.removeEventListener('timeupdate', onChange);
  };
  video.addEventListener('durationchange', onChange);
  video.addEventListener('timeupdate', onChange);
  video.currentTime = Number.MAX_SAFE_INTEGER;
  return stop;
}
