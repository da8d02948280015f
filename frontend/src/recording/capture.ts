// Opens the screen and microphone streams a recording needs.

export type CaptureMode = 'screen' | 'audio';

export interface Capture {
  // What MediaRecorder records: the screen's video track plus the mic.
  stream: MediaStream;
  mic: MediaStream;
  stop(): void;
}

export async function openCapture(mode: CaptureMode, media: MediaDevices = navigator.mediaDevices): Promise<Capture> {
  if (!media?.getUserMedia) throw new Error('This browser cannot record media here (a secure origin such as localhost is required).');
  let display: MediaStream | null = null;
  if (mode === 'screen') {
    if (!media.getDisplayMedia) throw new Error('This browser cannot capture the screen.');
    display = await media.getDisplayMedia({ video: true, audio: false });
  }
  let mic: MediaStream;
  try {
    mic = await media.getUserMedia({ audio: true });
  } catch (e) {
    display?.getTracks().forEach((t) => t.stop());
    throw e;
  }
  const stream = new MediaStream([...(display?.getVideoTracks() ?? []), ...mic.getAudioTracks()]);
  return {
    stream,
    mic,
    stop() {
      display?.getTracks().forEach((t) => t.stop());
      mic.getTracks().forEach((t) => t.stop());
    },
  };
}

// Explains a getDisplayMedia/getUserMedia failure in words a worker can act on.
export function describeMediaError(e: unknown): string {
  const name = (e as { name?: string })?.name;
  if (name === 'NotAllowedError') return 'Permission was denied. Allow screen and microphone access and try again.';
  if (name === 'NotFoundError') return 'No microphone was found. Connect one and try again.';
  if (name === 'NotReadableError') return 'The microphone or screen is in use by another program.';
  return (e as Error)?.message ?? String(e);
}

export function pickMimeType(mode: CaptureMode): string {
  const candidates = mode === 'screen'
    ? ['video/webm;codecs=vp9,opus', 'video/webm;codecs=vp8,opus', 'video/webm']
    : ['audio/webm;codecs=opus', 'audio/webm'];
  return candidates.find((t) => MediaRecorder.isTypeSupported(t)) ?? '';
}
