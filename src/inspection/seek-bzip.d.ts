declare module "seek-bzip" {
  interface OutputStream {
    writeByte(byte: number): void;
  }
  const Bunzip: {
    decode(input: Buffer, output?: Buffer | number | OutputStream, multistream?: boolean): Buffer | undefined;
  };
  export default Bunzip;
}
