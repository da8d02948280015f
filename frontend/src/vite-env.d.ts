/// <reference types="vite/client" />
declare const __EXTENSION_ID__: string;
