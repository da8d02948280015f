// Microphone level from 0 to 1 (RMS of the waveform), for the level meter.
import { useEffect, useState } from 'react';

export function useAudioLevel(stream: MediaStream | null): number {
  const [level, setLevel] = useState(0);
  useEffect(() => {
    if (!stream || stream.getAudioTracks().length === 0 || typeof AudioContext === 'undefined') return;
    const ctx = new AudioContext();
    // A context created after awaits may start suspended (autoplay policy).
    void ctx.resume();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    let frame = 0;
    const tick = () => {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      // Speech RMS sits around 0.05-0.2: scale so normal talk fills the bar.
      setLevel(Math.min(1, Math.sqrt(sum / buf.length) * 4));
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
    return () => { cancelAnimationFrame(frame); void ctx.close(); setLevel(0); };
  }, [stream]);
  return level;
}
